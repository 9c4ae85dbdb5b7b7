#pragma once
// The analysis of one study, as a graph of named stages:
//   series volumes -> phase of each series -> reference series -> liver -> lesions -> volumetry
// Inputs and outputs are plain structs; ITK stays inside processing/src.
#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/follow_up.h"
#include "livernode/processing/image.h"
#include "livernode/processing/liver_atlas.h"
#include "livernode/processing/phase.h"
#include "livernode/processing/surgical_planning.h"

namespace livernode::processing {

// Header facts that may support the image-based phase decision (often absent or wrong).
struct SeriesHints {
  std::string description;
  bool contrast_agent_tag = false;                // ContrastBolusAgent present
  std::optional<double> seconds_after_injection;  // AcquisitionTime - ContrastBolusStartTime
};

struct SeriesInput {
  std::string series_uid;
  const Volume* volume = nullptr;  // HU, LPS
  SeriesHints hints;
};

struct StudyInput {
  std::vector<SeriesInput> series;
};

// A liver segmentation supplied from outside (a site's own model): given the reference volume,
// a mask on its grid, or the reason there is none.
struct ExternalLiver {
  LabelMap mask;        // 1 inside; empty when `failure` is set
  std::string failure;  // why not (the analysis then falls back to the built-in method)
  std::string method;   // what produced it, for the report
};
using LiverBackend = std::function<ExternalLiver(const Volume& reference)>;

// Segments a reader drew or corrected by hand (read from a DICOM Segmentation), on the grid of
// the reference volume. Each one that is set replaces the automatic result of its kind; what is
// not set keeps the automatic result.
struct ManualSegments {
  std::optional<LabelMap> liver;                 // the whole liver, tumours included or not
  std::optional<std::vector<LabelMap>> lesions;  // replace every detected lesion (empty: none)
  std::optional<LabelMap> remnant;               // a future liver remnant drawn by hand
  std::string source;  // where they come from, for the report (e.g. the SEG's SOP Instance UID)
  std::vector<std::string> notes;  // segments that were not used, and why
};
using ManualSegmentsProvider = std::function<ManualSegments(const Geometry& reference)>;

struct AnalysisOptions {
  Phase preferred_reference =
      Phase::kUnknown;                     // kUnknown: portal venous, else delayed, else arterial
  LiverBackend liver_backend;              // empty: the built-in method
  ManualSegmentsProvider manual_segments;  // empty: everything automatic
  PlanningInputs planning;  // patient height / weight, formulas and thresholds of the FLR stage
  // Where the liver may lie (liver_atlas.h); nullptr: the atlas built into the program. An
  // empty atlas turns the location prior off.
  const LiverAtlas* liver_atlas = nullptr;
};

struct PhaseEstimate {
  Phase phase = Phase::kUnknown;
  double confidence = 0.0;               // 0..1
  Phase header_phase = Phase::kUnknown;  // what the header alone suggests
  std::optional<double> aorta_hu;
  std::optional<double> portal_vein_hu;
  std::optional<double> liver_hu;
  std::string evidence;  // one sentence: the measurements behind the decision
};

// How a phase was aligned onto the reference phase, and how well the livers then overlap.
struct PhaseRegistration {
  Vec3 translation_mm{};
  bool deformable = false;  // a B-spline refined the translation
  std::string note;         // e.g. why the deformable stage was not used
  // Dice of the reference liver with this phase's own liver mask, before and after alignment:
  // the residual misalignment inside the liver (1 = perfect overlap).
  std::optional<double> liver_dice_before;
  std::optional<double> liver_dice_after;
};

struct SeriesAnalysis {
  std::string series_uid;
  PhaseEstimate phase;
  std::optional<double> liver_mean_hu;
  std::optional<PhaseRegistration> registration;  // absent for the reference series
};

struct LiverResult {
  double volume_ml = 0.0;
  double mean_hu = 0.0;  // in the reference series
  std::string method;
  double top_z_mm = 0.0;  // LPS z of the most cranial liver voxel (the dome), a landmark
};

// How a lesion behaves across the contrast phases.
enum class LesionType {
  kUnknown,                 // not enough phases to tell
  kHypervascularWashout,    // hyper in arterial, hypo in portal venous / delayed
  kHypervascularNoWashout,  // hyper in arterial, iso or hyper later
  kHypovascular,            // hypo in every contrast phase, enhances somewhat
  kCystLike,                // near water density, no enhancement
};
const char* lesion_type_name(LesionType t);

// A lesion's attenuation in one phase, measured on the aligned series.
struct LesionPhaseMeasure {
  Phase phase = Phase::kUnknown;
  std::string series_uid;
  double mean_hu = 0.0;
  double sd_hu = 0.0;
  double liver_hu = 0.0;     // surrounding parenchyma in the same phase
  double enhancement = 0.0;  // mean_hu - liver_hu
  // Share of the lesion (its interior, lightly smoothed) brighter than liver_hu by more than the
  // hyperenhancement threshold: hyperenhancement in part of a lesion.
  double enhancing_fraction = 0.0;
  // MR (AnalysisResult::magnetic_resonance): the time point's phase by its MR name
  // ("hepatobiliary", ...; `phase` holds the nearest CT phase), the signal fields above are
  // relative to paraspinal muscle, not HU, and the lesion's signal over the surrounding
  // parenchyma's (1 = isointense) is given here.
  std::string mr_phase;
  std::optional<double> signal_to_liver;
  bool reference = false;  // MR: the reference time point (the SEG's and the pages' series)
};

struct LesionResult {
  int number = 0;  // 1-based tracking number, value in lesion_labels
  double volume_ml = 0.0;
  double longest_diameter_mm = 0.0;  // longest axial diameter (RECIST 1.1)
  double short_axis_mm = 0.0;        // longest diameter perpendicular to it, same slice
  bool measurable = false;           // longest >= 10 mm
  Vec3 centroid_lps{};               // mm
  std::size_t axial_slice = 0;       // k of the slice holding the longest diameter
  std::array<Vec3, 2> long_axis{};   // end points (LPS mm) of the longest diameter
  std::array<Vec3, 2> short_axis{};  // end points (LPS mm) of the short axis
  double mean_hu = 0.0;              // in the reference series
  double sd_hu = 0.0;
  std::vector<LesionPhaseMeasure> phases;
  LesionType type = LesionType::kUnknown;
  std::string type_evidence;  // one sentence
  // MR with a T2 series: the lesion's T2 signal over the surrounding parenchyma's.
  std::optional<double> t2_to_liver;
  // MR with an ADC map: the lesion's apparent diffusion coefficient over the surrounding
  // parenchyma's (below 1: diffusion more restricted than in the liver).
  std::optional<double> adc_to_liver;
};

// Study-level figures (reference series).
struct Volumetry {
  double liver_ml = 0.0;  // total, tumours included
  double tumour_ml = 0.0;
  double functional_ml = 0.0;   // liver minus tumour
  double burden_percent = 0.0;  // tumour / liver
  int lesion_count = 0;
  std::vector<std::string> findings;  // e.g. non-contrast liver below 40 HU suggests steatosis
};

struct StageStatus {
  std::string stage;  // e.g. "lesions"
  bool done = false;
  std::string detail;    // what was done, or why not
  double seconds = 0.0;  // wall time spent since the previous stage ended
};

// Couinaud segments on the reference series (see couinaud_labels).
struct CouinaudResult {
  std::array<double, kCouinaudSegments + 1> volume_ml{};  // index 1..8, tumour included
  std::array<double, kCouinaudSegments + 1> tumour_ml{};
  Vec3 ivc_lps{};                            // a point of the IVC axis
  double portal_plane_z = 0.0;               // LPS mm
  std::array<double, 3> vein_azimuth_deg{};  // right, middle, left hepatic vein around the IVC
  std::string method;                        // landmarks, rule and limits
  std::vector<std::string> notes;            // landmarks that needed a fallback
};

// Which results come from segments drawn or corrected by hand instead of the automatic ones.
struct ManualCorrections {
  bool liver = false;
  bool lesions = false;
  bool remnant = false;
  std::string source;
  std::vector<std::string> notes;
  bool any() const { return liver || lesions || remnant; }
};

struct AnalysisResult {
  std::vector<SeriesAnalysis> series;  // same order as StudyInput::series
  int reference_series = -1;           // index into series
  std::optional<LiverResult> liver;
  LabelMap liver_mask;                // reference series geometry; empty when no liver
  std::vector<LesionResult> lesions;  // sorted by volume, largest first; number = index+1
  LabelMap lesion_labels;             // reference geometry; voxel = lesion number, 0 none
  std::optional<Volumetry> volumetry;
  std::optional<CouinaudResult> couinaud;
  // The IVC traced beside the liver (track_ivc): median centre of its lumen, z at the middle of
  // the trace; a landmark for comparing studies.
  std::optional<Vec3> ivc_axis_lps;
  LabelMap couinaud_labels;  // reference geometry; 1..8 = segment I..VIII, 0 none
  std::optional<SurgicalPlan> surgical_plan;
  std::optional<ManualCorrections> manual;  // set when corrected segments were supplied
  LabelMap remnant_mask;                    // reference geometry; the hand-drawn remnant, if any
  std::vector<StageStatus> stages;
  std::vector<std::string> warnings;
  // An MR analysis (mr_dynamic.h): no Hounsfield units; the phase of each T1 dynamic time point
  // with its signal ratios, one sentence each, in place of `series`' CT phases.
  bool magnetic_resonance = false;
  std::vector<std::string> mr_phases;
  // Set by the caller when the study was compared with an earlier one of the same patient.
  std::optional<FollowUpComparison> follow_up;
};

AnalysisResult analyse(const StudyInput& study, const AnalysisOptions& options);

// LPS z of the most cranial voxel of `liver` (the dome, a follow-up landmark); 0 when empty.
double dome_z_mm(const LabelMap& liver);

}  // namespace livernode::processing
