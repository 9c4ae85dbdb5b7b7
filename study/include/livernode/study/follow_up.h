#pragma once
// Follow-up: one analysis compared with an earlier analysis of the same patient (read from an
// earlier summary.json by summary_json.h's read_prior_analysis): total and remnant volumes before
// and after, degree of hypertrophy (points of FLR / ESLV, or of FLR / functional volume when either
// study has no ESLV), kinetic growth rate (points per week between the study dates), lesions
// matched by position and the RECIST 1.1 sum of the target lesions.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/analysis.h"
#include "livernode/processing/follow_up.h"
#include "livernode/study/summary_json.h"

namespace livernode::study {

// Days between two DICOM dates (YYYYMMDD), later minus earlier; nullopt if either is malformed.
std::optional<long> days_between(const std::string& earlier, const std::string& later);

// The figures follow-up compares of `result`, an analysis of a study of `study_date`.
FollowUpFacts follow_up_facts(const processing::AnalysisResult& result,
                              const std::string& study_date);

// The comparison of `current` with `prior`, an earlier analysis of the same patient (see
// summary_json.h's read_prior_analysis). `prior_source` names the earlier summary file.
processing::FollowUpComparison compare_with_prior(const FollowUpFacts& current,
                                                  const FollowUpFacts& prior,
                                                  const std::string& prior_source);
// The same for `current`, an analysis of a study of `study_date`.
processing::FollowUpComparison compare_with_prior(const processing::AnalysisResult& current,
                                                  const std::string& study_date,
                                                  const FollowUpFacts& prior,
                                                  const std::string& prior_source);
// The "follow_up" section for two entries of summary.json's "analyses": `current` against
// `prior`, each read as read_follow_up_facts reads it.
nlohmann::json compare_with_prior(const nlohmann::json& current, const nlohmann::json& prior,
                                  const std::string& prior_source);

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
