#pragma once
// The surgical-planning part of summary.json and the planning inputs taken from the config and
// the patient's header facts.
#include <nlohmann/json.hpp>
#include <optional>

#include "livernode/config/config.h"
#include "livernode/dicom/series.h"
#include "livernode/processing/analysis.h"

namespace livernode::node {

processing::PlanningInputs planning_inputs(const config::ClinicalConfig& clinical,
                                           const dicom::PatientFacts& patient);

// "couinaud" section: per-segment volumes, landmarks, method; null without segments.
nlohmann::json couinaud_json(const processing::AnalysisResult& result);
// The remnant figures of one resection or of a remnant drawn by hand: FLR volume, its share of
// the functional liver and of the ESLV, the threshold and the statement.
nlohmann::json remnant_json(const processing::ResectionEvaluation& r);
// "surgical_plan" section: BSA, ESLV (or why not), threshold, resections, tumour facts.
nlohmann::json surgical_plan_json(const processing::AnalysisResult& result);

}  // namespace livernode::node
