#pragma once
// Follow-up: one analysis of summary.json compared with an earlier analysis of the same patient
// (an earlier summary.json): total and remnant volumes before and after, degree of hypertrophy
// (points of FLR / ESLV, or of FLR / functional volume when either study has no ESLV), kinetic
// growth rate (points per week between the study dates), lesions matched by position and the
// RECIST 1.1 sum of the target lesions.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/follow_up.h"

namespace livernode::study {

// Days between two DICOM dates (YYYYMMDD), later minus earlier; nullopt if either is malformed.
std::optional<long> days_between(const std::string& earlier, const std::string& later);

// The analysis of `prior` (a parsed summary.json) to compare with: the first one with a
// surgical plan, else the first with a liver; null JSON when none.
nlohmann::json pick_prior_analysis(const nlohmann::json& prior_summary);

// The "follow_up" section for `current` (an entry of summary.json's "analyses") against `prior`
// (an entry of the earlier summary). `prior_source` names the earlier file.
nlohmann::json compare_with_prior(const nlohmann::json& current, const nlohmann::json& prior,
                                  const std::string& prior_source);

// The figures of a "follow_up" section (a result of compare_with_prior) for the result writers.
processing::FollowUpComparison follow_up_figures(const nlohmann::json& follow_up);

// A finished analysis of another study of the same patient that the node may compare with.
struct PriorCandidate {
  std::int64_t job_id = 0;
  std::string study_uid;
  std::filesystem::path summary;  // its summary.json
  bool purged = false;            // the study and its results were removed by retention
};

struct PriorChoice {
  std::filesystem::path summary;  // empty: no earlier analysis to compare with
  std::int64_t job_id = 0;
  std::string study_uid;
  // When `summary` is empty but analyses of other studies of the patient exist that could not
  // be used (purged, missing or unreadable results): why. Empty when there was nothing.
  std::string unavailable_reason;
};

// Picks among `candidates` the analysis of the most recent earlier visit: its study date is not
// later than `study_date`, and it is neither this study nor another part of the same
// examination (same frame of reference). Ties go to the candidate listed first. Reads the
// candidates' summary files; never throws on a missing or malformed one.
PriorChoice choose_prior(const std::vector<PriorCandidate>& candidates,
                         const std::string& study_uid, const std::string& study_date,
                         const std::string& frame_of_reference_uid);

}  // namespace livernode::study
