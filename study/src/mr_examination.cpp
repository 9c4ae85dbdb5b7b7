// The MR examination of a folder's analysis (examination.h): triage, phases, liver, lesions,
// volumes, Couinaud segments and remnants on the T1 dynamic run, and its result objects.
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <sstream>

#include "examination.h"
#include "livernode/dicom/error.h"
#include "livernode/processing/mr_dynamic.h"
#include "livernode/study/summary_json.h"
#include "livernode/study/visits.h"
#include "livernode/version.h"

namespace livernode::study::detail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The triage stage's sentence: the time points used, the T2 series when the lesions used it,
// the others listed with why they were not used.
std::string mr_triage_text(const LoadedGroup& group) {
  std::size_t not_used = 0, t2_used = 0;
  for (const auto& c : group.mr_choices) {
    not_used += !c.used;
    t2_used += c.used && c.triage.role == MrRole::kT2;
  }
  return std::to_string(group.mr_dynamic.size()) + " T1 dynamic time point(s) used, " +
         (t2_used ? std::to_string(t2_used) + " T2 series used for the lesions, " : "") +
         std::to_string(not_used) + " other MR volume(s) listed with why they were not used";
}

// The T2 series of an MR examination, loaded into `loaded`, for the lesions' T2 evidence (the
// one with the most slices when there are several); its summary entry says it is used. None
// when the study has no T2 series or it cannot be loaded (said in its entry).
// The series of `role` with the most slices (T2, or an ADC map), loaded as optional evidence
// for the lesions and said so in its summary entry (`used_for`); nullopt when there is none or it
// cannot be loaded (also said).
std::optional<processing::MrT2Input> load_mr_evidence(LoadedGroup& group, MrRole role,
                                                      const std::string& what,
                                                      const std::string& used_for,
                                                      dicom::LoadedVolume& loaded) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < group.mr_choices.size(); ++i) {
    if (group.mr_choices[i].triage.role != role) continue;
    if (!best ||
        group.mr_choices[i].series->slices.size() > group.mr_choices[*best].series->slices.size())
      best = i;
  }
  if (!best) return std::nullopt;
  const dicom::SeriesInfo& s = *group.mr_choices[*best].series;
  json& mr = group.series_json[group.mr_json_index[*best]]["mr"];
  try {
    loaded = load_analysable_volume(s);
  } catch (const dicom::DicomError& e) {
    mr["reason"] = mr["reason"].get<std::string>() + "; " + what +
                   " evidence for the lesions not used: " + std::string(e.what());
    return std::nullopt;
  }
  group.mr_choices[*best].used = true;
  group.mr_choices[*best].reason = "used: " + used_for + ", aligned onto the reference time point";
  mr["used"] = true;
  mr["reason"] = group.mr_choices[*best].reason;
  return processing::MrT2Input{s.series_uid, &loaded.volume};
}

}  // namespace

// The MR examination: the T1 dynamic run's phases from the images (processing/mr_dynamic.h),
// said per series and in analysis["mr_dynamic"]; the liver, its lesions, volumes, Couinaud
// segments and remnant volumes on the reference time point.
void run_mr_analysis(LoadedGroup& group, const processing::PlanningInputs& planning, json& analysis,
                     processing::AnalysisResult& result, std::size_t& analysed) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<processing::MrTimePointInput> inputs;
  for (std::size_t n = 0; n < group.mr_dynamic.size(); ++n) {
    const dicom::SeriesInfo& s = *group.mr_choices[group.mr_dynamic[n]].series;
    inputs.push_back({s.series_uid, &group.mr_volumes[n].volume, seconds_of_day(s.acquisition_time),
                      s.description});
  }
  processing::MrDynamicResult mr;
  try {
    mr = processing::analyse_mr_dynamic(inputs);
    ++analysed;
  } catch (const std::exception& e) {
    analysis["error"] = std::string("MR analysis failed: ") + e.what();
    spdlog::error("event=analysis_failed modality=MR reason=\"{}\"", e.what());
    return;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json points = json::array();
  for (std::size_t n = 0; n < mr.time_points.size(); ++n) {
    const auto& tp = mr.time_points[n];
    json pj = mr_phase_json(tp);
    json& sj = group.series_json[group.mr_json_index[group.mr_dynamic[n]]];
    sj["phase"] = pj;
    pj["series_instance_uid"] = tp.series_uid;
    if (sj["mr"].contains("temporal_position"))
      pj["temporal_position"] = sj["mr"]["temporal_position"];
    points.push_back(std::move(pj));
    spdlog::info("event=mr_phase series={} phase={} confidence={:.2f}", tp.series_uid,
                 processing::mr_phase_name(tp.phase), tp.confidence);
  }
  analysis["mr_dynamic"] = {{"time_points", std::move(points)},
                            {"normalisation", mr.normalisation},
                            {"method", mr.method},
                            {"notes", mr.notes},
                            {"accuracy",
                             "measured on the synthetic MR phantom only: no real liver MR with "
                             "ground truth is available to the project yet"}};
  result.stages.push_back({"mr_triage", !group.mr_dynamic.empty(), mr_triage_text(group), 0.0});
  result.stages.push_back({"normalisation", true, mr.normalisation, seconds});
  std::string phase_detail = mr.method;
  for (const auto& n : mr.notes) phase_detail += "; " + n;
  result.stages.push_back({"phase", true, phase_detail, 0.0});
  group.mr_reference = mr.reference;
  result.magnetic_resonance = true;
  for (std::size_t n = 0; n < mr.time_points.size(); ++n) {
    const auto& tp = mr.time_points[n];
    std::ostringstream t;
    t.precision(2);
    t << std::fixed << processing::mr_phase_name(tp.phase) << " (confidence " << tp.confidence
      << "), series " << tp.series_uid;
    if (const auto& pos = group.mr_choices[group.mr_dynamic[n]].triage.temporal_position)
      t << " time point " << *pos;
    t << ": signal relative to paraspinal muscle";
    if (tp.liver_ratio) t << ", liver " << *tp.liver_ratio;
    if (tp.aorta_ratio) t << ", aorta " << *tp.aorta_ratio;
    if (tp.vessel_ratio) t << ", hepatic vessels " << *tp.vessel_ratio;
    if (tp.liver_enhancement && tp.phase != processing::MrPhase::kPreContrast)
      t << "; liver enhancement " << *tp.liver_enhancement << " x pre-contrast";
    result.mr_phases.push_back(t.str());
  }
  if (!mr.liver_mask.empty() && mr.reference >= 0) {
    const auto& ref = mr.time_points[static_cast<std::size_t>(mr.reference)];
    processing::LiverResult liver;
    liver.volume_ml = mr.liver_ml;
    liver.method =
        mr.liver_method + " (on the " + processing::mr_phase_name(ref.phase) + " time point)";
    result.liver = liver;
    analysis["mr_dynamic"]["reference_series_instance_uid"] = ref.series_uid;
    analysis["mr_dynamic"]["reference_phase"] = processing::mr_phase_name(ref.phase);
    result.stages.push_back({"liver", true, liver.method, 0.0});
    // Lesions on the aligned time points, with a T2 series as optional evidence.
    const auto t_lesions = std::chrono::steady_clock::now();
    processing::MrLesionsResult lesions;
    std::string lesion_failure;
    try {
      dicom::LoadedVolume t2_loaded, adc_loaded;
      const auto t2 = load_mr_evidence(
          group, MrRole::kT2, "T2",
          "T2 signal of each lesion over the surrounding liver (fluid-like lesions)", t2_loaded);
      const auto adc = load_mr_evidence(
          group, MrRole::kAdc, "ADC",
          "apparent diffusion coefficient of each lesion over the surrounding liver (restricted "
          "or free diffusion)",
          adc_loaded);
      lesions = processing::find_mr_lesions(mr, t2, adc);
    } catch (const std::exception& e) {
      lesion_failure = e.what();
      spdlog::warn("event=mr_lesions_failed reason=\"{}\"", e.what());
    }
    const double lesion_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_lesions).count();
    result.liver_mask = std::move(mr.liver_mask);
    result.lesion_labels = lesions.labels.empty()
                               ? processing::LabelMap(result.liver_mask.geometry, 0)
                               : std::move(lesions.labels);
    result.lesions = std::move(lesions.lesions);
    // Tumours are part of the liver volume (as on CT).
    std::size_t liver_voxels = 0, tumour_voxels = 0;
    for (std::size_t p = 0; p < result.liver_mask.voxels.size(); ++p) {
      if (result.lesion_labels.voxels[p]) {
        result.liver_mask.voxels[p] = 1;
        ++tumour_voxels;
      }
      liver_voxels += result.liver_mask.voxels[p] != 0;
    }
    const double voxel_ml = result.liver_mask.geometry.voxel_volume_ml();
    result.liver->volume_ml = liver_voxels * voxel_ml;
    std::ostringstream v;
    v.precision(0);
    v << std::fixed << "total liver volume " << result.liver->volume_ml
      << " mL on the reference time point, lesions included";
    if (lesion_failure.empty()) {
      processing::Volumetry vol;
      vol.liver_ml = result.liver->volume_ml;
      vol.tumour_ml = tumour_voxels * voxel_ml;
      vol.functional_ml = vol.liver_ml - vol.tumour_ml;
      vol.burden_percent = vol.liver_ml > 0 ? 100.0 * vol.tumour_ml / vol.liver_ml : 0.0;
      vol.lesion_count = static_cast<int>(result.lesions.size());
      result.volumetry = vol;
      v.precision(1);
      v << "; tumour volume " << vol.tumour_ml << " mL, functional volume " << vol.functional_ml
        << " mL, burden " << vol.burden_percent << " %";
      std::string detail = lesions.method;
      for (const auto& note : lesions.notes) detail += "; " + note;
      detail += "; " + lesions.t2_note + "; " + lesions.adc_note;
      result.stages.push_back({"lesions", true, detail, lesion_seconds});
    } else {
      v << "; tumour volume, functional volume and burden not computed: the lesion search failed";
      result.stages.push_back(
          {"lesions", false, "lesion search on MR failed: " + lesion_failure, lesion_seconds});
    }
    result.stages.push_back({"volumetry", true, v.str(), 0.0});
    // Couinaud segments and remnant volumes: as on CT, the landmarks read on the time point
    // with the strongest vessel contrast.
    const auto t_planning = std::chrono::steady_clock::now();
    const std::size_t before = result.stages.size();
    try {
      processing::plan_surgery_on_mr(mr, planning, result);
    } catch (const std::exception& e) {
      result.stages.resize(before);
      result.stages.push_back({"couinaud", false, std::string("failed: ") + e.what(), 0.0});
      spdlog::warn("event=mr_couinaud_failed reason=\"{}\"", e.what());
    }
    if (result.stages.size() > before)
      result.stages[before].seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t_planning).count();
    // The landmarks a later (or earlier) visit is aligned by, CT or MR: the liver's dome and the
    // IVC axis the segments were placed by.
    result.liver->top_z_mm = processing::dome_z_mm(result.liver_mask);
    if (result.couinaud) result.ivc_axis_lps = result.couinaud->ivc_lps;
  } else {
    result.stages.push_back(
        {"liver", false, "liver not segmented on MR: " + mr.liver_failure, 0.0});
    result.stages.push_back({"volumetry", false, "no volumes without a liver", 0.0});
    result.stages.push_back({"lesions", false, "no lesion search on MR without a liver", 0.0});
    result.stages.push_back({"couinaud", false, "no Couinaud segments without a liver", 0.0});
  }
  // The T2 series, once used for the lesions, is no longer among those not used.
  for (auto& st : result.stages)
    if (st.stage == "mr_triage") st.detail = mr_triage_text(group);
}

// The MR objects: the liver SEG on the reference time point's series (the frames reference
// that time point's own images), the TID 1500 SR measuring it, the summary pages and PDF.
json write_mr_objects(const processing::AnalysisResult& result, const LoadedGroup& group,
                      const fs::path& out, const fs::path& dir, const AnalyseFolderOptions& options,
                      std::vector<dicom::WrittenObject>& written, json& warnings) {
  json objects = json::array();
  if (result.liver_mask.empty() || group.mr_reference < 0) return objects;
  const std::size_t ref = static_cast<std::size_t>(group.mr_reference);
  const dicom::SeriesInfo& series = *group.mr_choices[group.mr_dynamic[ref]].series;
  const dicom::LoadedVolume& loaded = group.mr_volumes[ref];
  dicom::WriterIdentity identity;
  identity.product = kProductName;
  identity.version = kVersion;
  identity.disclaimer = options.disclaimer;
  identity.result_version = options.result_version;
  note_copied_value_fixes(series, warnings);
  try {
    const auto segs = dicom::write_segmentations(series, loaded, result, identity, dir);
    for (const auto& seg : segs) {
      json entry = written_object_json(seg.object, out);
      entry.update({{"content", dicom::seg_layer_name(seg.layer)},
                    {"segments_overlap", false},
                    {"segments", seg_segments_json(seg)}});
      objects.push_back(std::move(entry));
      written.push_back(seg.object);
      spdlog::info("event=result_written kind={} file={} sop={}", seg.object.kind,
                   seg.object.file.string(), seg.object.sop_instance_uid);
      for (const auto& w : seg.warnings)
        warnings.push_back(std::string("SEG ") + dicom::seg_layer_name(seg.layer) + ": " + w);
    }
    // The SR: the liver's volume, the phases with their signal ratios, the other time points
    // as evidence.
    std::vector<const dicom::SeriesInfo*> others;
    for (std::size_t n = 0; n < group.mr_dynamic.size(); ++n)
      if (n != ref) others.push_back(group.mr_choices[group.mr_dynamic[n]].series);
    const auto sr = dicom::write_measurement_report(series, loaded, result, segs, identity,
                                                    dir / "sr.dcm", others);
    objects.push_back(written_object_json(sr, out));
    written.push_back(sr);
    spdlog::info("event=result_written kind={} file={} sop={}", sr.kind, sr.file.string(),
                 sr.sop_instance_uid);
  } catch (const dicom::DicomError& e) {
    warnings.push_back(std::string("SEG/SR not written: ") + e.what());
    spdlog::warn("event=result_failed kind=seg_sr reason=\"{}\"", e.what());
  }
  try {
    auto add = [&](const dicom::WrittenObject& o) {
      objects.push_back(written_object_json(o, out));
      written.push_back(o);
      spdlog::info("event=result_written kind={} file={} sop={}", o.kind, o.file.string(),
                   o.sop_instance_uid);
    };
    for (const auto& o : dicom::write_summary_images(series, loaded, result, identity, dir)) add(o);
    add(dicom::write_summary_pdf(series, loaded, result, identity, dir / "summary-pdf.dcm"));
  } catch (const dicom::DicomError& e) {
    warnings.push_back(std::string("summary images not written: ") + e.what());
    spdlog::warn("event=result_failed kind=summary reason=\"{}\"", e.what());
  }
  return objects;
}

}  // namespace livernode::study::detail
