#pragma once
// summary.json, written: the sections of one analysis from the typed results of processing and
// of the writers; and read back: the figures of an earlier analysis that follow-up compares.
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "livernode/dicom/result_writers.h"
#include "livernode/processing/analysis.h"
#include "livernode/processing/follow_up.h"
#include "livernode/processing/mr_dynamic.h"

namespace livernode::study {

nlohmann::json vec_json(const processing::Vec3& v);
// A series' "phase": detected, confidence, what the header suggests, the measurements.
nlohmann::json phase_json(const processing::PhaseEstimate& phase);
// An MR time point's phase: signal ratios (to paraspinal muscle, and over the pre-contrast
// time point) instead of Hounsfield units.
nlohmann::json mr_phase_json(const processing::MrTimePointResult& time_point);
// "liver" (null without a liver) and, with a liver, "landmarks" (dome, IVC axis).
void add_liver_json(const processing::AnalysisResult& result, nlohmann::json& analysis);
// "lesions": per lesion its size, axes, attenuation, type, Couinaud segments and phases.
nlohmann::json lesions_json(const processing::AnalysisResult& result);
// "volumetry": liver, tumour, functional volume, burden, count, findings; null without one.
nlohmann::json volumetry_json(const processing::AnalysisResult& result);
// "couinaud" section: per-segment volumes, landmarks, method; null without segments.
nlohmann::json couinaud_json(const processing::AnalysisResult& result);
// The remnant figures of one resection or of a remnant drawn by hand: FLR volume, its share of
// the functional liver and of the ESLV, the threshold and the statement.
nlohmann::json remnant_json(const processing::ResectionEvaluation& r);
// "surgical_plan" section: BSA, ESLV (or why not), threshold, resections, tumour facts.
nlohmann::json surgical_plan_json(const processing::AnalysisResult& result);
// "corrections": the source SEGs, which results are manual, the drawn remnant's figures and the
// notes; null when no correction applied.
nlohmann::json corrections_json(const processing::AnalysisResult& result);
// "stages": what each stage of the analysis did and how long it took.
nlohmann::json stages_json(const processing::AnalysisResult& result);
// An entry of "objects" (its path relative to `out`), and a SEG's "segments" with their voxel
// counts.
nlohmann::json written_object_json(const dicom::WrittenObject& object,
                                   const std::filesystem::path& out);
nlohmann::json seg_segments_json(const dicom::WrittenSegmentation& seg);
// "follow_up": the comparison with an earlier analysis (a comparison that was made; without one
// the section is null).
nlohmann::json follow_up_json(const processing::FollowUpComparison& f);

// The remnant of one resection preset of an analysis, as follow-up compares it.
struct FollowUpResection {
  std::string key;                 // preset key, e.g. "right_hemihepatectomy"
  std::string name;                // Brisbane 2000 term
  std::string segments_remaining;  // e.g. "I-IV"
  double flr_ml = 0.0;
  std::optional<double> percent_of_eslv;
  std::optional<double> percent_of_functional;  // FLR / (total liver volume - tumour volume)
};

// A lesion of an analysis, as follow-up compares it.
struct FollowUpLesionFacts {
  int number = 0;
  double volume_ml = 0.0;
  double longest_diameter_mm = 0.0;
  bool measurable_recist = false;
  std::array<double, 3> centroid_lps_mm{0, 0, 0};
};

// The figures of one analysis that follow-up compares: of an earlier analysis read from its
// summary.json, or of this analysis (follow_up.h's follow_up_facts). Absent figures (older
// summary files, no liver, no surgical plan) are empty.
struct FollowUpFacts {
  std::string study_date;  // YYYYMMDD as the summary holds it ("" when absent)
  std::vector<std::string> study_instance_uids;
  std::string frame_of_reference_uid;
  std::optional<double> liver_ml;       // volumetry: total liver volume
  std::optional<double> functional_ml;  // volumetry: liver minus tumour
  bool has_surgical_plan = false;
  std::vector<FollowUpResection> resections;
  // Landmarks of the anatomy in the study's coordinates.
  std::optional<std::array<double, 2>> ivc_axis_lps_mm;  // in-plane position of the IVC axis
  std::optional<double> liver_dome_z_mm;
  std::vector<FollowUpLesionFacts> lesions;
};

// The figures of one entry of summary.json's "analyses". Keys that are missing or of another
// type (older or damaged files) leave their figure absent or at its default; never throws.
FollowUpFacts read_follow_up_facts(const nlohmann::json& analysis);
// The analysis of an earlier summary.json to compare with: the first one with a surgical plan,
// else the first with a liver; nullopt when none (or the file is no summary). Never throws.
std::optional<FollowUpFacts> read_prior_analysis(const nlohmann::json& summary);

}  // namespace livernode::study
