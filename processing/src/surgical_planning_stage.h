#pragma once
// The last analysis stage: Couinaud segments on the reference series, their volumes and the
// surgical plan (ESLV, FLR of the standard resections, tumour facts).
#include <optional>

#include "ivc_tracking.h"
#include "livernode/processing/analysis.h"

namespace livernode::processing::detail {

// Needs result.liver_mask and result.lesion_labels on `reference`'s grid; adds
// result.couinaud, result.couinaud_labels, result.surgical_plan and a "couinaud" and a
// "surgical_planning" stage (done or why not). `unit`: what `reference`'s values are, as the
// method text names them.
void plan_surgery_stage(const Volume& reference, std::optional<double> spine_x,
                        std::optional<double> spine_anterior_y, const PlanningInputs& inputs,
                        AnalysisResult& result, const IvcTrack* ivc = nullptr,
                        const std::string& unit = "HU");

}  // namespace livernode::processing::detail
