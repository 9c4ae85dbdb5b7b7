#pragma once
// The T1 dynamic run of an abdominal MR study (pre-contrast, arterial, portal venous,
// transitional, hepatobiliary time points of one gradient-echo acquisition), analysed as:
//   each time point -> N4 bias-field correction -> signal relative to paraspinal muscle
//   -> aligned onto the pre-contrast time point -> aorta, hepatic vessels and liver measured
//   -> enhancement over the pre-contrast signal and time order -> phase of each time point
//   -> the liver on the hepatobiliary (else portal venous) time point.
// MR signal has no absolute scale (no Hounsfield units): every figure here is a ratio.
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/analysis.h"
#include "livernode/processing/image.h"

namespace livernode::processing {

enum class MrPhase {
  kUnknown,
  kPreContrast,
  kArterial,
  kPortalVenous,
  kTransitional,
  kHepatobiliary
};

// Stable machine names: "pre_contrast", "arterial", "portal_venous", "transitional",
// "hepatobiliary", "unknown".
const char* mr_phase_name(MrPhase phase);

struct MrTimePointInput {
  std::string series_uid;
  const Volume* volume = nullptr;  // stored signal, arbitrary units, LPS
  std::optional<double> seconds;   // acquisition time (seconds of the day), for the time order
  std::string description;         // header words: supporting evidence only
};

struct MrTimePointResult {
  std::string series_uid;
  MrPhase phase = MrPhase::kUnknown;
  double confidence = 0.0;
  MrPhase header_phase = MrPhase::kUnknown;  // what the description alone suggests
  std::optional<double> seconds_after_first;
  // Bias field range inside the body (N4) and the paraspinal muscle signal the time point was
  // divided by (stored units, after the correction).
  double bias_low = 1.0, bias_high = 1.0;
  std::optional<double> muscle_signal;
  // Signal relative to paraspinal muscle of the same time point.
  std::optional<double> aorta_ratio, vessel_ratio, liver_ratio;
  // Signal over the same structure's signal before contrast (1 = no enhancement).
  std::optional<double> aorta_enhancement, vessel_enhancement, liver_enhancement;
  std::string evidence;  // one sentence: the measurements behind the decision
};

struct MrDynamicResult {
  std::vector<MrTimePointResult> time_points;  // same order as the input
  int pre_contrast = -1;                       // index of the pre-contrast time point, or -1
  std::string normalisation;                   // how the signal was made comparable
  std::string method;                          // how the phases were decided
  std::vector<std::string> notes;              // what could not be measured, and why
  // Each time point bias-corrected and divided by its muscle signal (full grid): the normalised
  // images later stages read. Empty for a time point without a muscle reference.
  std::vector<Volume> normalised;
  // The normalised time points aligned onto the reference time point's full grid (the
  // translation the liver segmentation uses; -2000 where a time point has no data). Empty
  // without a reference time point, and for a time point without a muscle reference.
  std::vector<Volume> aligned;
  // The liver, on the reference time point (hepatobiliary, else portal venous, else
  // transitional; none when no such phase was recognised): index, mask on that time point's grid
  // (empty when not segmented), volume, how it was found or why not.
  int reference = -1;
  LabelMap liver_mask;
  double liver_ml = 0.0;
  std::string liver_method;
  std::string liver_failure;
};

MrDynamicResult analyse_mr_dynamic(const std::vector<MrTimePointInput>& time_points);

// A series of the same examination that is optional evidence for the lesions, on its own grid:
// T2-weighted (fluid is very bright; stored signal, its own scale) or an ADC map (apparent
// diffusion coefficient as stored: fluid high, restricted diffusion low).
struct MrT2Input {
  std::string series_uid;
  const Volume* volume = nullptr;
};
using MrAdcInput = MrT2Input;

// Focal lesions inside the liver of `dynamic` (which must hold a liver), on its aligned
// normalised time points (mr_lesions.h): measured like CT lesions, with signal ratios instead
// of HU, and typed with the CT types.
struct MrLesionsResult {
  std::vector<LesionResult> lesions;  // largest first, numbered from 1
  LabelMap labels;                    // reference time point's grid; voxel = lesion number
  std::string method;
  std::vector<std::string> notes;
  std::string t2_note;   // how the T2 series was used, or why not
  std::string adc_note;  // how the ADC map was used, or why not
};
MrLesionsResult find_mr_lesions(const MrDynamicResult& dynamic, const std::optional<MrT2Input>& t2,
                                const std::optional<MrAdcInput>& adc = std::nullopt);

// Couinaud segments, their volumes and the surgical plan (ESLV, FLR of the standard resections)
// on MR, as for CT (surgical_planning.h): the CT landmarks read on the aligned time point whose
// hepatic vessels differ most from the parenchyma, its signal mapped onto a CT-like scale
// (parenchyma 100, hepatic vessels 70 above it; inverted where the vessels are the darker).
// Needs result.liver_mask (lesions included) and result.lesion_labels on the reference time
// point's grid; adds result.couinaud, couinaud_labels, surgical_plan and a "couinaud" and a
// "surgical_planning" stage (done, or why not).
void plan_surgery_on_mr(const MrDynamicResult& dynamic, const PlanningInputs& planning,
                        AnalysisResult& result);

}  // namespace livernode::processing
