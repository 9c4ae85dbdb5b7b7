#include "livernode/node/study_analysis.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "livernode/config/config.h"
#include "livernode/dicom/copied_values.h"
#include "livernode/dicom/error.h"
#include "livernode/dicom/result_writers.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/node/corrections.h"
#include "livernode/node/external_segmentation.h"
#include "livernode/processing/analysis.h"
#include "livernode/version.h"
#include "livernode/node/follow_up.h"
#include "livernode/node/visits.h"
#include "surgical_plan_json.h"

namespace livernode::node {

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

namespace {

json vec_json(const processing::Vec3& v) { return json::array({v[0], v[1], v[2]}); }

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// Series that share a frame of reference (and patient) are phases of one examination even when
// the archive split them into several studies; they are analysed together.
std::string analysis_key(const dicom::SeriesInfo& s) {
  return s.patient.id + "|" + (s.frame_of_reference_uid.empty() ? s.study_uid
                                                                : s.frame_of_reference_uid);
}

// Writes SEG, SR and summary images of one analysis into `dir`; returns their JSON entries
// (paths relative to `out`) and appends problems to `warnings`.
json lesions_json(const processing::AnalysisResult& result) {
  json out = json::array();
  const auto sites = dicom::lesion_sites(result);
  for (const auto& l : result.lesions) {
    // Where the lesion lies: its Couinaud segments by overlap, largest share first (null without
    // Couinaud segments).
    json segments = nullptr;
    if (!result.couinaud_labels.empty()) {
      segments = json::array();
      const auto it = sites.find(l.number);
      if (it != sites.end()) {
        for (const auto& s : it->second) {
          segments.push_back({{"segment", processing::couinaud_roman(s.segment)},
                              {"volume_ml", s.volume_ml},
                              {"percent", s.percent}});
        }
      }
    }
    json phases = json::array();
    for (const auto& m : l.phases) {
      phases.push_back({{"phase", processing::phase_name(m.phase)},
                        {"series_instance_uid", m.series_uid},
                        {"mean_hu", m.mean_hu},
                        {"sd_hu", m.sd_hu},
                        {"liver_hu", m.liver_hu},
                        {"enhancement_hu", m.enhancement},
                        {"enhancing_fraction", m.enhancing_fraction}});
    }
    out.push_back({{"number", l.number},
                   {"volume_ml", l.volume_ml},
                   {"longest_diameter_mm", l.longest_diameter_mm},
                   {"short_axis_mm", l.short_axis_mm},
                   {"measurable_recist", l.measurable},
                   {"centroid_lps_mm", vec_json(l.centroid_lps)},
                   {"axial_slice_index", l.axial_slice},
                   {"long_axis_lps_mm", {vec_json(l.long_axis[0]), vec_json(l.long_axis[1])}},
                   {"short_axis_lps_mm", {vec_json(l.short_axis[0]), vec_json(l.short_axis[1])}},
                   {"mean_hu", l.mean_hu},
                   {"sd_hu", l.sd_hu},
                   {"type", processing::lesion_type_name(l.type)},
                   {"type_evidence", l.type_evidence},
                   {"couinaud_segments", std::move(segments)},
                   {"phases", std::move(phases)}});
  }
  return out;
}

json volumetry_json(const processing::AnalysisResult& result) {
  if (!result.volumetry) return nullptr;
  const auto& v = *result.volumetry;
  return {{"liver_ml", v.liver_ml},         {"tumour_ml", v.tumour_ml},
          {"functional_ml", v.functional_ml}, {"tumour_burden_percent", v.burden_percent},
          {"lesion_count", v.lesion_count},  {"findings", v.findings}};
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

// `frame_of_reference_uid`: the one the objects carry when the reference series has none
// (made once per analysis, so that SEG, SR and summary.json agree), else empty.
json write_result_objects(const processing::AnalysisResult& result,
                          const std::vector<const dicom::SeriesInfo*>& loaded_series,
                          const std::vector<dicom::LoadedVolume>& volumes, const fs::path& out,
                          const fs::path& dir, const AnalyseFolderOptions& options,
                          const std::string& frame_of_reference_uid,
                          std::vector<fs::path>& written, json& warnings) {
  json objects = json::array();
  const std::size_t ref = reference_index(result, loaded_series);
  if (ref == loaded_series.size()) return objects;
  dicom::WriterIdentity identity;
  identity.product = kProductName;
  identity.version = kVersion;
  identity.disclaimer = options.disclaimer;
  identity.result_version = options.result_version;
  auto add = [&](const dicom::WrittenObject& o, json extra = json::object()) {
    json entry = {{"path", fs::relative(o.file, out).generic_string()},
                  {"kind", o.kind},
                  {"sop_class_uid", o.sop_class_uid},
                  {"sop_instance_uid", o.sop_instance_uid},
                  {"series_instance_uid", o.series_instance_uid}};
    entry.update(extra);
    objects.push_back(std::move(entry));
    written.push_back(o.file);
    spdlog::info("event=result_written kind={} file={} sop={}", o.kind, o.file.string(),
                 o.sop_instance_uid);
  };
  dicom::SeriesInfo series = *loaded_series[ref];
  if (series.frame_of_reference_uid.empty()) series.frame_of_reference_uid = frame_of_reference_uid;
  const dicom::LoadedVolume& loaded = volumes[ref];
  // Values copied from the source header that were not valid for their VR are repaired by the
  // writers; which ones (never the values, they may identify the patient) goes to the log and
  // the summary.
  const auto fixes = dicom::copied_value_fixes(series);
  if (!fixes.empty()) {
    std::string attributes, changes;
    for (const auto& f : fixes) {
      attributes += (attributes.empty() ? "" : ",") + f.attribute.substr(0, f.attribute.find(' '));
      changes += (changes.empty() ? "" : "; ") + f.attribute + ": " + f.change;
    }
    spdlog::info("event=copied_values_repaired series={} count={} attributes={}",
                 series.series_uid, fixes.size(), attributes);
    warnings.push_back("values copied from the source header into the result objects were made "
                       "valid for their VR: " + changes);
  }
  try {
    if (!result.liver_mask.empty() || !result.lesions.empty()) {
      const auto segs = dicom::write_segmentations(series, loaded, result, identity, dir);
      for (const auto& seg : segs) {
        // What each SEG holds, segment by segment, as a viewer counts it.
        json segments = json::array();
        for (const auto& s : seg.segments) {
          segments.push_back({{"number", s.number},
                              {"label", s.label},
                              {"type", s.type_code},
                              {"voxels", s.voxels},
                              {"volume_ml", s.volume_ml()},
                              {"analysis_voxels", s.mask_voxels}});
        }
        add(seg.object, {{"content", dicom::seg_layer_name(seg.layer)},
                         {"segments_overlap", false},
                         {"segments", std::move(segments)}});
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

// Smaller series are not volumes the analysis can work on (a single slice, a scout, a few
// slices of a reformat): they are reported as not loaded, with the reason.
constexpr std::size_t kMinSlices = 8;
constexpr std::size_t kMinMatrix = 32;

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

  json prior_summary;
  std::string prior_error;
  if (!options.prior_summary.empty()) {
    std::ifstream in(options.prior_summary);
    try {
      if (!in) throw std::runtime_error("cannot open");
      prior_summary = json::parse(in);
    } catch (const std::exception& e) {
      prior_error = "earlier summary " + options.prior_summary.string() + " not read: " + e.what();
      spdlog::warn("event=prior_unreadable file={} reason=\"{}\"", options.prior_summary.string(), e.what());
    }
  }

  json summary;
  summary["product"] = kProductName;
  summary["version"] = kVersion;
  if (options.result_version > 0) summary["result_version"] = options.result_version;
  summary["input"] = fs::absolute(input).string();
  summary["analyses"] = json::array();
  std::size_t analysed = 0;
  std::string analysis_error;  // the last examination whose analysis failed

  for (const auto& [key, members] : groups) {
    json analysis;
    analysis["frame_of_reference_uid"] = members.front()->frame_of_reference_uid;
    analysis["study_date"] = members.front()->study_date;
    std::vector<std::string> study_uids;
    std::vector<dicom::LoadedVolume> volumes;
    std::vector<const dicom::SeriesInfo*> loaded_series;
    json series_json = json::array();
    for (const dicom::SeriesInfo* s : members) {
      if (std::find(study_uids.begin(), study_uids.end(), s->study_uid) == study_uids.end()) {
        study_uids.push_back(s->study_uid);
      }
      json sj;
      sj["series_instance_uid"] = s->series_uid;
      sj["study_instance_uid"] = s->study_uid;
      sj["description"] = s->description;
      sj["modality"] = s->modality;
      sj["slices"] = s->slices.size();
      try {
        auto loaded = dicom::load_volume(*s);
        const auto& size = loaded.volume.geometry.size;
        if (size[2] < kMinSlices || size[0] < kMinMatrix || size[1] < kMinMatrix) {
          throw dicom::DicomError(
              dicom::ErrorKind::kInconsistent,
              std::to_string(size[0]) + " x " + std::to_string(size[1]) + " x " +
                  std::to_string(size[2]) + " voxels: the analysis needs a volume of at least " +
                  std::to_string(kMinMatrix) + " x " + std::to_string(kMinMatrix) + " x " +
                  std::to_string(kMinSlices));
        }
        volumes.push_back(std::move(loaded));
        loaded_series.push_back(s);
        const auto& g = volumes.back().volume.geometry;
        sj["size"] = {g.size[0], g.size[1], g.size[2]};
        sj["spacing_mm"] = vec_json(g.spacing);
        sj["origin_lps_mm"] = vec_json(g.origin);
        sj["warnings"] = volumes.back().warnings;
        spdlog::info("event=series_loaded series={} slices={} size={}x{}x{}", s->series_uid,
                     s->slices.size(), g.size[0], g.size[1], g.size[2]);
      } catch (const dicom::DicomError& e) {
        sj["error"] = e.what();
        spdlog::warn("event=series_load_failed series={} kind={} reason=\"{}\"", s->series_uid,
                     dicom::error_kind_name(e.kind()), e.what());
      }
      series_json.push_back(std::move(sj));
    }
    analysis["study_instance_uids"] = study_uids;

    processing::StudyInput study;
    for (std::size_t i = 0; i < volumes.size(); ++i) {
      study.series.push_back({loaded_series[i]->series_uid, &volumes[i].volume,
                              series_hints(*loaded_series[i])});
    }
    processing::AnalysisResult result;
    if (!study.series.empty()) {
      processing::AnalysisOptions analysis_options;
      analysis_options.liver_backend = options.liver_backend;
      analysis_options.planning = planning_inputs(options.clinical, loaded_series.front()->patient);
      std::vector<std::string> series_uids;
      for (const auto* s : loaded_series) series_uids.push_back(s->series_uid);
      analysis_options.manual_segments = manual_segments_provider(
          options.corrections, members.front()->frame_of_reference_uid, series_uids);
      try {
        result = processing::analyse(study, analysis_options);
        ++analysed;
      } catch (const std::exception& e) {
        // One examination that breaks the analysis must not cost the others theirs.
        result = processing::AnalysisResult{};
        analysis["error"] = std::string("analysis failed: ") + e.what();
        analysis_error = analysis["error"].get<std::string>();
        spdlog::error("event=analysis_failed frame_of_reference={} reason=\"{}\"",
                      members.front()->frame_of_reference_uid, e.what());
      }
    }
    for (std::size_t i = 0; i < result.series.size(); ++i) {
      const auto& pa = result.series[i].phase;
      for (auto& sj : series_json) {
        if (sj["series_instance_uid"] != result.series[i].series_uid) continue;
        sj["phase"] = {{"detected", processing::phase_name(pa.phase)},
                       {"confidence", pa.confidence},
                       {"header_suggests", processing::phase_name(pa.header_phase)},
                       {"aorta_hu", optional_json(pa.aorta_hu)},
                       {"portal_vein_hu", optional_json(pa.portal_vein_hu)},
                       {"liver_hu", optional_json(pa.liver_hu)},
                       {"evidence", pa.evidence}};
      }
    }
    analysis["series"] = std::move(series_json);
    analysis["reference_series_instance_uid"] =
        result.reference_series >= 0 ? json(result.series[result.reference_series].series_uid)
                                     : json(nullptr);
    if (result.liver) {
      analysis["liver"] = {{"volume_ml", result.liver->volume_ml},
                           {"mean_hu", result.liver->mean_hu},
                           {"method", result.liver->method}};
      // Where this patient's anatomy lies in this study's coordinates: follow-up aligns an
      // earlier study's lesions by these before matching them.
      analysis["landmarks"] = {
          {"liver_dome_z_mm", result.liver->top_z_mm},
          {"ivc_axis_lps_mm", result.ivc_axis_lps ? vec_json(*result.ivc_axis_lps) : json(nullptr)}};
    } else {
      analysis["liver"] = nullptr;
    }
    analysis["lesions"] = lesions_json(result);
    analysis["volumetry"] = volumetry_json(result);
    analysis["couinaud"] = couinaud_json(result);
    analysis["surgical_plan"] = surgical_plan_json(result);
    if (!options.prior_summary.empty()) {
      const json prior = prior_error.empty() ? pick_prior_analysis(prior_summary) : json(nullptr);
      if (!prior.is_null()) {
        analysis["follow_up"] = compare_with_prior(analysis, prior, options.prior_summary.string());
        result.follow_up = follow_up_figures(analysis["follow_up"]);
      } else {
        analysis["follow_up"] = nullptr;
        const std::string why = prior_error.empty() ? "the earlier summary " +
                                                          options.prior_summary.string() +
                                                          " holds no analysed liver"
                                                    : prior_error;
        result.warnings.push_back("no follow-up: " + why);
        result.follow_up = processing::FollowUpComparison{};
        result.follow_up->unavailable_reason = why;
      }
    } else if (!options.prior_unavailable.empty()) {
      analysis["follow_up"] = nullptr;
      result.warnings.push_back("no follow-up: " + options.prior_unavailable);
      result.follow_up = processing::FollowUpComparison{};
      result.follow_up->unavailable_reason = options.prior_unavailable;
    }
    if (result.manual) {
      analysis["corrections"] = corrections_json(result);
      if (result.manual->any()) ++outcome.corrected_analyses;
    }
    json stages = json::array();
    for (const auto& st : result.stages) {
      stages.push_back({{"stage", st.stage}, {"done", st.done}, {"detail", st.detail}, {"seconds", st.seconds}});
    }
    analysis["stages"] = std::move(stages);
    // A reference series without a Frame of Reference UID (some converters write none): the
    // result objects need one to place their frames, so this analysis makes one, and says so.
    std::string new_frame_of_reference;
    const std::size_t ref = reference_index(result, loaded_series);
    if (options.write_objects && ref < loaded_series.size() &&
        loaded_series[ref]->frame_of_reference_uid.empty()) {
      new_frame_of_reference = dicom::new_frame_of_reference_uid();
      analysis["frame_of_reference_uid"] = new_frame_of_reference;
      analysis["frame_of_reference_generated"] = true;
      result.warnings.push_back(
          "the source series has no Frame of Reference UID (0020,0052); the SEG and SR carry a new "
          "one made for this analysis, " + new_frame_of_reference +
          ", which no other object of the study shares");
      spdlog::warn("event=frame_of_reference_generated series={} frame_of_reference={}",
                   loaded_series[ref]->series_uid, new_frame_of_reference);
    } else {
      analysis["frame_of_reference_generated"] = false;
    }
    analysis["warnings"] = result.warnings;
    analysis["objects"] = json::array();
    if (options.write_objects) {
      const fs::path dir = out / std::to_string(summary["analyses"].size() + 1);
      analysis["objects"] =
          write_result_objects(result, loaded_series, volumes, out, dir, options,
                               new_frame_of_reference, outcome.objects, analysis["warnings"]);
    }
    summary["analyses"].push_back(std::move(analysis));
  }

  json rejected = json::array();
  for (const auto& r : scan.rejected) rejected.push_back({{"file", r.file.string()}, {"reason", r.reason}});
  summary["rejected_files"] = std::move(rejected);
  summary["elapsed_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  fs::create_directories(out, ec);
  if (ec) throw std::runtime_error("cannot create output folder " + out.string() + ": " + ec.message());
  outcome.summary_path = out / "summary.json";
  {
    std::ofstream f(outcome.summary_path);
    f << summary.dump(2) << "\n";
    if (!f) throw std::runtime_error("cannot write " + outcome.summary_path.string());
  }
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

}  // namespace livernode::node
