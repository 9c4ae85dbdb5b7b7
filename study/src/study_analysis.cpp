#include "livernode/study/study_analysis.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "examination.h"
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

namespace detail {

// Smaller series are not volumes the analysis can work on (a single slice, a scout, a few
// slices of a reformat): they are reported as not loaded, with the reason.
constexpr std::size_t kMinSlices = 8;
constexpr std::size_t kMinMatrix = 32;

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

}  // namespace detail

using detail::load_analysable_volume;
using detail::LoadedGroup;
using detail::note_copied_value_fixes;
using detail::run_mr_analysis;
using detail::write_mr_objects;

namespace {

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
