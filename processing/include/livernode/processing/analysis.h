#pragma once
// The analysis of one study, as a graph of named stages:
//   series volumes -> phase of each series -> reference series -> liver -> lesions -> volumetry
// Inputs and outputs are plain structs; ITK stays inside processing/src.
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/image.h"
#include "livernode/processing/phase.h"

namespace livernode::processing {

// Header facts that may support the image-based phase decision (often absent or wrong).
struct SeriesHints {
  std::string description;
  bool contrast_agent_tag = false;               // ContrastBolusAgent present
  std::optional<double> seconds_after_injection; // AcquisitionTime - ContrastBolusStartTime
};

struct SeriesInput {
  std::string series_uid;
  const Volume* volume = nullptr;  // HU, LPS
  SeriesHints hints;
};

struct StudyInput {
  std::vector<SeriesInput> series;
};

struct AnalysisOptions {
  Phase preferred_reference = Phase::kUnknown;  // kUnknown: portal venous, else delayed, else arterial
};

struct PhaseEstimate {
  Phase phase = Phase::kUnknown;
  double confidence = 0.0;          // 0..1
  Phase header_phase = Phase::kUnknown;  // what the header alone suggests
  std::optional<double> aorta_hu;
  std::optional<double> portal_vein_hu;
  std::optional<double> liver_hu;
  std::string evidence;             // one sentence: the measurements behind the decision
};

struct SeriesAnalysis {
  std::string series_uid;
  PhaseEstimate phase;
  std::optional<double> liver_mean_hu;
};

struct LiverResult {
  double volume_ml = 0.0;
  double mean_hu = 0.0;  // in the reference series
  std::string method;
};

struct StageStatus {
  std::string stage;   // e.g. "lesions"
  bool done = false;
  std::string detail;  // what was done, or why not
};

struct AnalysisResult {
  std::vector<SeriesAnalysis> series;      // same order as StudyInput::series
  int reference_series = -1;               // index into series
  std::optional<LiverResult> liver;
  LabelMap liver_mask;                     // reference series geometry; empty when no liver
  std::vector<StageStatus> stages;
  std::vector<std::string> warnings;
};

AnalysisResult analyse(const StudyInput& study, const AnalysisOptions& options);

}  // namespace livernode::processing
