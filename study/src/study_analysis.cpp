#include "livernode/study/study_analysis.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "livernode/config/config.h"
#include "livernode/dicom/copied_values.h"
#include "livernode/dicom/error.h"
#include "livernode/dicom/result_writers.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/processing/analysis.h"
#include "livernode/processing/mr_dynamic.h"
#include "livernode/study/corrections.h"
#include "livernode/study/external_segmentation.h"
#include "livernode/study/follow_up.h"
#include "livernode/study/mr_triage.h"
#include "livernode/study/summary_json.h"
#include "livernode/study/visits.h"
#include "livernode/version.h"

namespace livernode::study {

namespace fs = std::filesystem;
using nlohmann::json;

processing::SeriesHints series_hints(const dicom::SeriesInfo& s) {
  processing::SeriesHints h;
  h.description = s.description;
  h.contrast_agent_tag = !s.contrast_agent.empty();
  auto acq = seconds_of_day(s.acquisition_time);
  auto start = seconds_of_day(s.contrast_start_time);
  if (acq && start && *acq >= *start) h.seconds_after_injection = *acq - *start;
  return h;
}

processing::PlanningInputs planning_inputs(const config::ClinicalConfig& clinical,
                                           const dicom::PatientFacts& patient) {
  processing::PlanningInputs in;
  in.height_m = patient.size_m;
  in.weight_kg = patient.weight_kg;
  in.bsa_formula = clinical.bsa_formula == config::BsaFormula::dubois
                       ? processing::BsaFormula::kDuBois
                       : processing::BsaFormula::kMosteller;
  in.eslv_formula = clinical.eslv_formula == config::EslvFormula::urata
                        ? processing::EslvFormula::kUrata
                        : processing::EslvFormula::kVauthey;
  switch (clinical.liver_condition) {
    case config::LiverCondition::chemotherapy:
      in.condition = processing::LiverCondition::kChemotherapy;
      break;
    case config::LiverCondition::cirrhosis:
      in.condition = processing::LiverCondition::kCirrhosis;
      break;
    case config::LiverCondition::normal:
      in.condition = processing::LiverCondition::kNormal;
      break;
  }
  in.flr_threshold_percent = {clinical.flr_thresholds_percent.normal,
                              clinical.flr_thresholds_percent.chemotherapy,
                              clinical.flr_thresholds_percent.cirrhosis};
  in.tumour_burden_limit_percent = clinical.tumour_burden_limit_percent;
  in.ablation_max_lesions = clinical.ablation_max_lesions;
  in.ablation_max_diameter_mm = clinical.ablation_max_diameter_mm;
  return in;
}

namespace {

// Smaller series are not volumes the analysis can work on (a single slice, a scout, a few
// slices of a reformat): they are reported as not loaded, with the reason.
constexpr std::size_t kMinSlices = 8;
constexpr std::size_t kMinMatrix = 32;

// Series that share a frame of reference (and patient) are phases of one examination even when
// the archive split them into several studies; they are analysed together.
std::string analysis_key(const dicom::SeriesInfo& s) {
  return s.patient.id + "|" +
         (s.frame_of_reference_uid.empty() ? s.study_uid : s.frame_of_reference_uid);
}

// Index in `loaded_series` of the result's reference series, or loaded_series.size().
std::size_t reference_index(const processing::AnalysisResult& result,
                            const std::vector<const dicom::SeriesInfo*>& loaded_series) {
  if (result.reference_series < 0) return loaded_series.size();
  const std::string& reference_uid = result.series[result.reference_series].series_uid;
  for (std::size_t i = 0; i < loaded_series.size(); ++i) {
    if (loaded_series[i]->series_uid == reference_uid) return i;
  }
  return loaded_series.size();
}

// Values copied from the source header that were not valid for their VR are repaired by the
// writers; which ones (never the values, they may identify the patient) goes to the log and
// the summary.
void note_copied_value_fixes(const dicom::SeriesInfo& series, json& warnings) {
  const auto fixes = dicom::copied_value_fixes(series);
  if (fixes.empty()) return;
  std::string attributes, changes;
  for (const auto& f : fixes) {
    attributes += (attributes.empty() ? "" : ",") + f.attribute.substr(0, f.attribute.find(' '));
    changes += (changes.empty() ? "" : "; ") + f.attribute + ": " + f.change;
  }
  spdlog::info("event=copied_values_repaired series={} count={} attributes={}", series.series_uid,
               fixes.size(), attributes);
  warnings.push_back(
      "values copied from the source header into the result objects were made valid for their "
      "VR: " +
      changes);
}

// Writes SEG, SR and summary images of one analysis into `dir`; returns their JSON entries
// (paths relative to `out`) and appends problems to `warnings`.
// `frame_of_reference_uid`: the one the objects carry when the reference series has none
// (made once per analysis, so that SEG, SR and summary.json agree), else empty.
json write_result_objects(const processing::AnalysisResult& result,
                          const std::vector<const dicom::SeriesInfo*>& loaded_series,
                          const std::vector<dicom::LoadedVolume>& volumes, const fs::path& out,
                          const fs::path& dir, const AnalyseFolderOptions& options,
                          const std::string& frame_of_reference_uid,
                          std::vector<dicom::WrittenObject>& written, json& warnings) {
  json objects = json::array();
  const std::size_t ref = reference_index(result, loaded_series);
  if (ref == loaded_series.size()) return objects;
  dicom::WriterIdentity identity;
  identity.product = kProductName;
  identity.version = kVersion;
  identity.disclaimer = options.disclaimer;
  identity.result_version = options.result_version;
  auto add = [&](const dicom::WrittenObject& o, json extra = json::object()) {
    json entry = written_object_json(o, out);
    entry.update(extra);
    objects.push_back(std::move(entry));
    written.push_back(o);
    spdlog::info("event=result_written kind={} file={} sop={}", o.kind, o.file.string(),
                 o.sop_instance_uid);
  };
  dicom::SeriesInfo series = *loaded_series[ref];
  if (series.frame_of_reference_uid.empty()) series.frame_of_reference_uid = frame_of_reference_uid;
  const dicom::LoadedVolume& loaded = volumes[ref];
  note_copied_value_fixes(series, warnings);
  try {
    if (!result.liver_mask.empty() || !result.lesions.empty()) {
      const auto segs = dicom::write_segmentations(series, loaded, result, identity, dir);
      for (const auto& seg : segs) {
        add(seg.object, {{"content", dicom::seg_layer_name(seg.layer)},
                         {"segments_overlap", false},
                         {"segments", seg_segments_json(seg)}});
        for (const auto& w : seg.warnings)
          warnings.push_back(std::string("SEG ") + dicom::seg_layer_name(seg.layer) + ": " + w);
      }
      std::vector<const dicom::SeriesInfo*> others;
      for (std::size_t i = 0; i < loaded_series.size(); ++i)
        if (i != ref) others.push_back(loaded_series[i]);
      add(dicom::write_measurement_report(series, loaded, result, segs, identity, dir / "sr.dcm",
                                          others));
    } else {
      warnings.push_back("no SEG and no SR: nothing was segmented");
    }
  } catch (const dicom::DicomError& e) {
    warnings.push_back(std::string("SEG/SR not written: ") + e.what());
    spdlog::warn("event=result_failed kind=seg_sr reason=\"{}\"", e.what());
  }
  try {
    for (const auto& o : dicom::write_summary_images(series, loaded, result, identity, dir)) add(o);
    add(dicom::write_summary_pdf(series, loaded, result, identity, dir / "summary-pdf.dcm"));
  } catch (const dicom::DicomError& e) {
    warnings.push_back(std::string("summary images not written: ") + e.what());
    spdlog::warn("event=result_failed kind=summary reason=\"{}\"", e.what());
  }
  return objects;
}

// The earlier summary.json named by the options, parsed; `error` says why it could not be read.
json read_prior_summary(const AnalyseFolderOptions& options, std::string& error) {
  json prior_summary;
  if (options.prior_summary.empty()) return prior_summary;
  std::ifstream in(options.prior_summary);
  try {
    if (!in) throw std::runtime_error("cannot open");
    prior_summary = json::parse(in);
  } catch (const std::exception& e) {
    error = "earlier summary " + options.prior_summary.string() + " not read: " + e.what();
    spdlog::warn("event=prior_unreadable file={} reason=\"{}\"", options.prior_summary.string(),
                 e.what());
  }
  return prior_summary;
}

// The earlier summary, once read, for every examination of the folder.
struct Prior {
  json summary;
  std::string error;
};

// The series of one examination, loaded (those too small or unreadable are reported in
// `series_json` with the reason).
struct LoadedGroup {
  std::vector<dicom::LoadedVolume> volumes;
  std::vector<const dicom::SeriesInfo*> series;
  json series_json = json::array();
  std::vector<std::string> study_uids;
  std::size_t mr_series = 0;  // MR series listed
  // MR: every volume with its triage and its entry in series_json; the T1 dynamic run's volumes
  // (loaded, in time order) and their indices in mr_choices.
  std::vector<MrSeriesChoice> mr_choices;
  std::vector<std::size_t> mr_json_index;
  std::vector<std::size_t> mr_dynamic;
  std::vector<dicom::LoadedVolume> mr_volumes;
  int mr_reference = -1;  // index in mr_volumes of the time point the liver was segmented on
};

dicom::LoadedVolume load_analysable_volume(const dicom::SeriesInfo& s) {
  auto loaded = dicom::load_volume(s);
  const auto& size = loaded.volume.geometry.size;
  if (size[2] < kMinSlices || size[0] < kMinMatrix || size[1] < kMinMatrix) {
    throw dicom::DicomError(dicom::ErrorKind::kInconsistent,
                            std::to_string(size[0]) + " x " + std::to_string(size[1]) + " x " +
                                std::to_string(size[2]) +
                                " voxels: the analysis needs a volume of at least " +
                                std::to_string(kMinMatrix) + " x " + std::to_string(kMinMatrix) +
                                " x " + std::to_string(kMinSlices));
  }
  return loaded;
}

LoadedGroup load_group(const std::vector<const dicom::SeriesInfo*>& members) {
  LoadedGroup group;
  for (const dicom::SeriesInfo* s : members) {
    if (std::find(group.study_uids.begin(), group.study_uids.end(), s->study_uid) ==
        group.study_uids.end()) {
      group.study_uids.push_back(s->study_uid);
    }
    json sj;
    sj["series_instance_uid"] = s->series_uid;
    sj["study_instance_uid"] = s->study_uid;
    sj["description"] = s->description;
    sj["modality"] = s->modality;
    sj["slices"] = s->slices.size();
    if (s->modality == "MR") {
      // MR signal is not in Hounsfield units: the CT method must not read it. Each MR series is
      // listed with what its header says it is; the T1 dynamic run is chosen below.
      const MrTriage triage = triage_mr_series(*s);
      sj["mr"] = {{"role", mr_role_name(triage.role)},
                  {"evidence", triage.evidence},
                  {"time_points", triage.time_points}};
      if (triage.temporal_position) sj["mr"]["temporal_position"] = *triage.temporal_position;
      ++group.mr_series;
      spdlog::info("event=mr_series_triaged series={} role={}", s->series_uid,
                   mr_role_name(triage.role));
      group.mr_choices.push_back({s, triage, false, ""});
      group.mr_json_index.push_back(group.series_json.size());
      group.series_json.push_back(std::move(sj));
      continue;
    }
    try {
      group.volumes.push_back(load_analysable_volume(*s));
      group.series.push_back(s);
      const auto& g = group.volumes.back().volume.geometry;
      sj["size"] = {g.size[0], g.size[1], g.size[2]};
      sj["spacing_mm"] = vec_json(g.spacing);
      sj["origin_lps_mm"] = vec_json(g.origin);
      sj["warnings"] = group.volumes.back().warnings;
      spdlog::info("event=series_loaded series={} slices={} size={}x{}x{}", s->series_uid,
                   s->slices.size(), g.size[0], g.size[1], g.size[2]);
    } catch (const dicom::DicomError& e) {
      sj["error"] = e.what();
      spdlog::warn("event=series_load_failed series={} kind={} reason=\"{}\"", s->series_uid,
                   dicom::error_kind_name(e.kind()), e.what());
    }
    group.series_json.push_back(std::move(sj));
  }
  if (!group.mr_choices.empty() && !group.volumes.empty()) {
    // CT and MR of one frame of reference: the CT series are analysed.
    for (std::size_t i = 0; i < group.mr_choices.size(); ++i) {
      json& mr = group.series_json[group.mr_json_index[i]]["mr"];
      mr["used"] = false;
      mr["reason"] = "not used: the CT series of this examination are analysed";
    }
  } else if (!group.mr_choices.empty()) {
    // The T1 dynamic run; every other MR volume is listed with why it is not used.
    const auto run = select_mr_dynamic(group.mr_choices);
    for (std::size_t i : run) {
      json& sj = group.series_json[group.mr_json_index[i]];
      const dicom::SeriesInfo& s = *group.mr_choices[i].series;
      try {
        group.mr_volumes.push_back(load_analysable_volume(s));
        group.mr_dynamic.push_back(i);
        const auto& g = group.mr_volumes.back().volume.geometry;
        sj["size"] = {g.size[0], g.size[1], g.size[2]};
        sj["spacing_mm"] = vec_json(g.spacing);
        sj["origin_lps_mm"] = vec_json(g.origin);
        sj["warnings"] = group.mr_volumes.back().warnings;
      } catch (const dicom::DicomError& e) {
        group.mr_choices[i].used = false;
        group.mr_choices[i].reason = std::string("not used: not loaded (") + e.what() + ")";
        sj["error"] = e.what();
        spdlog::warn("event=series_load_failed series={} kind={} reason=\"{}\"", s.series_uid,
                     dicom::error_kind_name(e.kind()), e.what());
      }
    }
    for (std::size_t i = 0; i < group.mr_choices.size(); ++i) {
      json& mr = group.series_json[group.mr_json_index[i]]["mr"];
      mr["used"] = group.mr_choices[i].used;
      mr["reason"] = group.mr_choices[i].reason;
    }
  }
  return group;
}

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
std::optional<processing::MrT2Input> load_mr_t2(LoadedGroup& group, dicom::LoadedVolume& loaded) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < group.mr_choices.size(); ++i) {
    if (group.mr_choices[i].triage.role != MrRole::kT2) continue;
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
    mr["reason"] = mr["reason"].get<std::string>() +
                   "; T2 evidence for the lesions not used: " + std::string(e.what());
    return std::nullopt;
  }
  group.mr_choices[*best].used = true;
  group.mr_choices[*best].reason =
      "used: T2 signal of each lesion over the surrounding liver (fluid-like lesions), aligned "
      "onto the reference time point";
  mr["used"] = true;
  mr["reason"] = group.mr_choices[*best].reason;
  return processing::MrT2Input{s.series_uid, &loaded.volume};
}

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
      dicom::LoadedVolume t2_loaded;
      const auto t2 = load_mr_t2(group, t2_loaded);
      lesions = processing::find_mr_lesions(mr, t2);
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
      detail += "; " + lesions.t2_note;
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

// processing::analyse on the loaded series of one examination; a failure is said in
// analysis["error"] and leaves an empty result. `analysed` counts the analyses that ran.
processing::AnalysisResult run_analysis(const LoadedGroup& group, const std::string& frame,
                                        const AnalyseFolderOptions& options, json& analysis,
                                        std::size_t& analysed) {
  processing::StudyInput study;
  for (std::size_t i = 0; i < group.volumes.size(); ++i) {
    study.series.push_back(
        {group.series[i]->series_uid, &group.volumes[i].volume, series_hints(*group.series[i])});
  }
  if (study.series.empty()) return {};
  processing::AnalysisOptions analysis_options;
  analysis_options.liver_backend = options.liver_backend;
  analysis_options.planning = planning_inputs(options.clinical, group.series.front()->patient);
  std::vector<std::string> series_uids;
  for (const auto* s : group.series) series_uids.push_back(s->series_uid);
  analysis_options.manual_segments =
      manual_segments_provider(options.corrections, frame, series_uids);
  try {
    auto result = processing::analyse(study, analysis_options);
    ++analysed;
    return result;
  } catch (const std::exception& e) {
    // One examination that breaks the analysis must not cost the others theirs.
    analysis["error"] = std::string("analysis failed: ") + e.what();
    spdlog::error("event=analysis_failed frame_of_reference={} reason=\"{}\"", frame, e.what());
    return {};
  }
}

// "follow_up": the comparison with the earlier summary, or why there is none. `study_date` is
// this analysis' study date.
void add_follow_up(const AnalyseFolderOptions& options, const Prior& prior,
                   const std::string& study_date, json& analysis,
                   processing::AnalysisResult& result) {
  if (!options.prior_summary.empty()) {
    const auto earlier =
        prior.error.empty() ? read_prior_analysis(prior.summary) : std::optional<FollowUpFacts>();
    if (earlier) {
      result.follow_up =
          compare_with_prior(result, study_date, *earlier, options.prior_summary.string());
      analysis["follow_up"] = follow_up_json(*result.follow_up);
      return;
    }
    analysis["follow_up"] = nullptr;
    const std::string why =
        prior.error.empty()
            ? "the earlier summary " + options.prior_summary.string() + " holds no analysed liver"
            : prior.error;
    result.warnings.push_back("no follow-up: " + why);
    result.follow_up = processing::FollowUpComparison{};
    result.follow_up->unavailable_reason = why;
  } else if (!options.prior_unavailable.empty()) {
    analysis["follow_up"] = nullptr;
    result.warnings.push_back("no follow-up: " + options.prior_unavailable);
    result.follow_up = processing::FollowUpComparison{};
    result.follow_up->unavailable_reason = options.prior_unavailable;
  }
}

// A reference series without a Frame of Reference UID (some converters write none): the
// result objects need one to place their frames, so this analysis makes one, and says so.
// Returns it ("" when the reference series has one or no objects are written).
std::string generated_frame_of_reference(const LoadedGroup& group,
                                         const AnalyseFolderOptions& options, json& analysis,
                                         processing::AnalysisResult& result) {
  const std::size_t ref = reference_index(result, group.series);
  if (!options.write_objects || ref >= group.series.size() ||
      !group.series[ref]->frame_of_reference_uid.empty()) {
    analysis["frame_of_reference_generated"] = false;
    return "";
  }
  const std::string made = dicom::new_frame_of_reference_uid();
  analysis["frame_of_reference_uid"] = made;
  analysis["frame_of_reference_generated"] = true;
  result.warnings.push_back(
      "the source series has no Frame of Reference UID (0020,0052); the SEG and SR carry a new "
      "one made for this analysis, " +
      made + ", which no other object of the study shares");
  spdlog::warn("event=frame_of_reference_generated series={} frame_of_reference={}",
               group.series[ref]->series_uid, made);
  return made;
}

// One examination (the series of one patient and frame of reference): loaded, analysed, its
// summary.json entry made and, with options.write_objects, its result objects written into
// OUT/<number>/.
json analyse_examination(const std::vector<const dicom::SeriesInfo*>& members, std::size_t number,
                         const fs::path& out, const AnalyseFolderOptions& options,
                         const Prior& prior, StudyAnalysisOutcome& outcome, std::size_t& analysed) {
  json analysis;
  const std::string& frame = members.front()->frame_of_reference_uid;
  analysis["frame_of_reference_uid"] = frame;
  analysis["study_date"] = members.front()->study_date;
  LoadedGroup group = load_group(members);
  analysis["study_instance_uids"] = group.study_uids;
  processing::AnalysisResult result = run_analysis(group, frame, options, analysis, analysed);
  if (group.volumes.empty() && group.mr_series > 0) {
    if (group.mr_dynamic.empty()) {
      analysis["error"] = "MR study without a T1 dynamic run (" + std::to_string(group.mr_series) +
                          " MR series listed with their role): nothing to analyse";
    } else {
      const dicom::SeriesInfo& first = *group.mr_choices[group.mr_dynamic.front()].series;
      run_mr_analysis(group, planning_inputs(options.clinical, first.patient), analysis, result,
                      analysed);
    }
  }
  for (const auto& sa : result.series) {
    for (auto& sj : group.series_json) {
      if (sj["series_instance_uid"] == sa.series_uid) sj["phase"] = phase_json(sa.phase);
    }
  }
  analysis["series"] = std::move(group.series_json);
  analysis["reference_series_instance_uid"] =
      result.reference_series >= 0 ? json(result.series[result.reference_series].series_uid)
                                   : json(nullptr);
  add_liver_json(result, analysis);
  if (!group.mr_dynamic.empty() && group.volumes.empty() && result.liver) {
    // MR: no Hounsfield units.
    analysis["liver"].erase("mean_hu");
    analysis["liver"]["reference_series_instance_uid"] =
        analysis["mr_dynamic"]["reference_series_instance_uid"];
    analysis["reference_series_instance_uid"] =
        analysis["mr_dynamic"]["reference_series_instance_uid"];
  }
  analysis["lesions"] = lesions_json(result);
  analysis["volumetry"] = volumetry_json(result);
  analysis["couinaud"] = couinaud_json(result);
  analysis["surgical_plan"] = surgical_plan_json(result);
  add_follow_up(options, prior, members.front()->study_date, analysis, result);
  if (result.manual) {
    analysis["corrections"] = corrections_json(result);
    if (result.manual->any()) ++outcome.corrected_analyses;
  }
  analysis["stages"] = stages_json(result);
  const std::string new_frame = generated_frame_of_reference(group, options, analysis, result);
  analysis["warnings"] = result.warnings;
  analysis["objects"] = json::array();
  if (options.write_objects && !group.mr_dynamic.empty() && group.volumes.empty()) {
    analysis["objects"] = write_mr_objects(result, group, out, out / std::to_string(number),
                                           options, outcome.objects, analysis["warnings"]);
  } else if (options.write_objects) {
    analysis["objects"] =
        write_result_objects(result, group.series, group.volumes, out, out / std::to_string(number),
                             options, new_frame, outcome.objects, analysis["warnings"]);
  }
  return analysis;
}

void write_summary_file(const json& summary, const fs::path& out, StudyAnalysisOutcome& outcome) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) {
    throw std::runtime_error("cannot create output folder " + out.string() + ": " + ec.message());
  }
  outcome.summary_path = out / "summary.json";
  std::ofstream f(outcome.summary_path);
  f << summary.dump(2) << "\n";
  if (!f) throw std::runtime_error("cannot write " + outcome.summary_path.string());
}

}  // namespace

AnalyseFolderOptions analysis_options_from(const config::Config& config, const fs::path& work_dir) {
  AnalyseFolderOptions options;
  options.clinical = config.clinical;
  options.disclaimer = config.clinical.disclaimer;
  const auto& processing = config.processing;
  if (processing.segmentation_backend == config::SegmentationBackend::external) {
    options.liver_backend =
        external_liver_backend({processing.external_command, processing.external_timeout_s,
                                processing.external_liver_label, work_dir});
  }
  return options;
}

StudyAnalysisOutcome analyse_folder(const fs::path& input, const fs::path& out) {
  return analyse_folder(input, out, AnalyseFolderOptions{});
}

StudyAnalysisOutcome analyse_folder(const fs::path& input, const fs::path& out,
                                    const AnalyseFolderOptions& options) {
  StudyAnalysisOutcome outcome;
  std::error_code ec;
  if (!fs::exists(input, ec)) {
    outcome.error = "input " + input.string() + " does not exist";
    return outcome;
  }
  const auto t0 = std::chrono::steady_clock::now();
  dicom::ScanResult scan = dicom::scan_directory(input);
  spdlog::info("event=scan input={} series={} rejected={}", input.string(), scan.series.size(),
               scan.rejected.size());

  std::map<std::string, std::vector<const dicom::SeriesInfo*>> groups;
  for (const auto& s : scan.series) groups[analysis_key(s)].push_back(&s);

  Prior prior;
  prior.summary = read_prior_summary(options, prior.error);

  json summary;
  summary["product"] = kProductName;
  summary["version"] = kVersion;
  if (options.result_version > 0) summary["result_version"] = options.result_version;
  summary["input"] = fs::absolute(input).string();
  summary["analyses"] = json::array();
  std::size_t analysed = 0;
  std::string analysis_error;  // the last examination whose analysis failed
  for (const auto& [key, members] : groups) {
    json analysis = analyse_examination(members, summary["analyses"].size() + 1, out, options,
                                        prior, outcome, analysed);
    if (analysis.contains("error")) analysis_error = analysis["error"].get<std::string>();
    summary["analyses"].push_back(std::move(analysis));
  }

  json rejected = json::array();
  for (const auto& r : scan.rejected) {
    rejected.push_back({{"file", r.file.string()}, {"reason", r.reason}});
  }
  summary["rejected_files"] = std::move(rejected);
  summary["elapsed_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  write_summary_file(summary, out, outcome);
  outcome.summary = std::move(summary);
  outcome.usable = analysed > 0;
  if (!outcome.usable) {
    outcome.error = scan.series.empty()
                        ? "no CT or MR image series found in " + input.string() + " (" +
                              std::to_string(scan.rejected.size()) + " file(s) rejected)"
                    : !analysis_error.empty() ? analysis_error + " (" + input.string() + ")"
                                              : "no series could be loaded from " + input.string();
  }
  return outcome;
}

}  // namespace livernode::study
