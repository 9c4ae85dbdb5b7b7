#pragma once
// summary.json, written: the sections of one analysis from the typed results of processing and
// of the writers (the reader of an earlier summary is follow_up.h's pick_prior_analysis).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "livernode/dicom/result_writers.h"
#include "livernode/processing/analysis.h"

namespace livernode::study {

nlohmann::json vec_json(const processing::Vec3& v);
// A series' "phase": detected, confidence, what the header suggests, the measurements.
nlohmann::json phase_json(const processing::PhaseEstimate& phase);
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

}  // namespace livernode::study
