#pragma once
// Follow-up: one analysis of summary.json compared with an earlier analysis of the same patient
// (an earlier summary.json): total and remnant volumes before and after, degree of hypertrophy
// (points of FLR / ESLV, or of FLR / functional volume when either study has no ESLV), kinetic
// growth rate (points per week between the study dates), lesions matched by position and the
// RECIST 1.1 sum of the target lesions.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace livernode::node {

// Days between two DICOM dates (YYYYMMDD), later minus earlier; nullopt if either is malformed.
std::optional<long> days_between(const std::string& earlier, const std::string& later);

// The analysis of `prior` (a parsed summary.json) to compare with: the first one with a
// surgical plan, else the first with a liver; null JSON when none.
nlohmann::json pick_prior_analysis(const nlohmann::json& prior_summary);

// The "follow_up" section for `current` (an entry of summary.json's "analyses") against `prior`
// (an entry of the earlier summary). `prior_source` names the earlier file.
nlohmann::json compare_with_prior(const nlohmann::json& current, const nlohmann::json& prior,
                                  const std::string& prior_source);

}  // namespace livernode::node
