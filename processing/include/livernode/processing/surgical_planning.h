#pragma once
// Surgical planning figures: body surface area, estimated standard liver volume (ESLV), the
// future liver remnant (FLR) of the standard resections in Brisbane 2000 terms, tumour burden,
// intrahepatic tumour distribution and the lesion count / size facts that bear on ablation.
// Plain arithmetic on plain structs: the numbers are reported as facts with the formula and the
// threshold that produced them, never as a recommendation.
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace livernode::processing {

enum class BsaFormula { kMosteller, kDuBois };
enum class EslvFormula { kVauthey, kUrata };
enum class LiverCondition { kNormal, kChemotherapy, kCirrhosis };

const char* bsa_formula_name(BsaFormula f);    // "Mosteller", "DuBois"
const char* bsa_formula_text(BsaFormula f);    // the formula written out
const char* eslv_formula_name(EslvFormula f);  // "Vauthey", "Urata"
const char* eslv_formula_text(EslvFormula f);
const char* liver_condition_name(LiverCondition c);  // "normal liver", ...

// Body surface area in m^2 from height (cm) and weight (kg).
double body_surface_area_m2(BsaFormula formula, double height_cm, double weight_kg);
// Estimated standard (total) liver volume in mL from the body surface area.
double estimated_standard_liver_volume_ml(EslvFormula formula, double bsa_m2);

// Couinaud segment numbers 1..8 (I..VIII); index 0 is unused.
inline constexpr int kCouinaudSegments = 8;
const char* couinaud_roman(int segment);  // "I".."VIII", "" out of range

enum class ResectionPreset {
  kRightHemihepatectomy,      // V-VIII
  kRightTrisectionectomy,     // IV-VIII
  kLeftHemihepatectomy,       // II-IV
  kLeftLateralSectionectomy,  // II-III
  kLeftTrisectionectomy,      // II-V, VIII (leaves I, VI, VII)
};
inline constexpr std::array<ResectionPreset, 5> kAllResections = {
    ResectionPreset::kRightHemihepatectomy, ResectionPreset::kRightTrisectionectomy,
    ResectionPreset::kLeftHemihepatectomy, ResectionPreset::kLeftLateralSectionectomy,
    ResectionPreset::kLeftTrisectionectomy};
const char* resection_name(ResectionPreset r);  // Brisbane 2000 term, e.g. "right hemihepatectomy"
const char* resection_key(ResectionPreset r);   // snake_case, e.g. "right_hemihepatectomy"
// Segments the resection removes (1..8), ascending.
std::vector<int> resected_segments(ResectionPreset r);
// e.g. "V-VIII", "II-V, VIII"
std::string segments_text(const std::vector<int>& segments);

// Everything the plan needs besides the images.
struct PlanningInputs {
  std::optional<double> height_m;   // DICOM PatientSize
  std::optional<double> weight_kg;  // DICOM PatientWeight
  BsaFormula bsa_formula = BsaFormula::kMosteller;
  EslvFormula eslv_formula = EslvFormula::kVauthey;
  LiverCondition condition = LiverCondition::kNormal;
  std::array<double, 3> flr_threshold_percent{20.0, 30.0, 40.0};  // normal, chemotherapy, cirrhosis
  double tumour_burden_limit_percent = 50.0;
  int ablation_max_lesions = 5;            // fewer than this
  double ablation_max_diameter_mm = 50.0;  // each under this
};

double flr_threshold_for(const PlanningInputs& in);

// The body surface area and the ESLV of the inputs' height and weight, or why there is no ESLV.
struct BodySize {
  std::optional<double> bsa_m2;
  std::optional<double> eslv_ml;
  std::string eslv_absent_reason;  // non-empty when no ESLV
};
BodySize body_size(const PlanningInputs& in);

// Per-segment volumes in mL, index 1..8; index 0 unused.
struct SegmentVolumes {
  std::array<double, kCouinaudSegments + 1> total_ml{};  // tumour included
  std::array<double, kCouinaudSegments + 1> tumour_ml{};
  double functional(int s) const { return total_ml[s] - tumour_ml[s]; }
};

// One lesion as the plan sees it.
struct PlanningLesion {
  int number = 0;
  double volume_ml = 0.0;
  double longest_diameter_mm = 0.0;
  int segment = 0;  // Couinaud segment holding most of the lesion, 0 when unknown
  // Volume of the lesion in each Couinaud segment (index 1..8), when known; all zero otherwise.
  std::array<double, kCouinaudSegments + 1> segment_ml{};
};

struct ResectionEvaluation {
  ResectionPreset preset = ResectionPreset::kRightHemihepatectomy;
  std::string name;          // Brisbane 2000 term
  std::string removed;       // e.g. "V-VIII"
  std::string remaining;     // e.g. "I-IV"
  double resected_ml = 0.0;  // total volume of the removed segments (tumour included)
  double flr_ml = 0.0;       // functional (tumour-free) volume of the remaining segments
  double flr_percent_of_functional = 0.0;     // FLR / (TLV - tumour)
  std::optional<double> flr_percent_of_eslv;  // sFLR = FLR / ESLV
  double threshold_percent = 0.0;             // for the configured liver condition
  // sFLR (or, without ESLV, FLR / functional volume) at or above the threshold.
  bool at_or_above_threshold = false;
  std::string statement;  // one sentence with the figures
};

enum class TumourDistribution {
  kNone,              // no lesion
  kTypeI,             // single lesion
  kTypeII,            // one dominant lesion with smaller lesions in both hemilivers
  kTypeIII,           // multiple lesions in both hemilivers, none dominant
  kUnilobarMultiple,  // several lesions confined to one hemiliver (outside types I-III)
  kUndetermined,      // lesions without a segment (no Couinaud segmentation)
};
const char* tumour_distribution_name(TumourDistribution d);

struct SurgicalPlan {
  // Body size and ESLV.
  std::optional<double> bsa_m2;
  std::optional<double> eslv_ml;
  std::string bsa_formula;         // e.g. "Mosteller: sqrt(height_cm x weight_kg / 3600)"
  std::string eslv_formula;        // e.g. "Vauthey: -794.41 + 1267.28 x BSA"
  std::string eslv_absent_reason;  // non-empty when no ESLV
  // Volumes.
  double total_liver_ml = 0.0;
  double tumour_ml = 0.0;
  double functional_liver_ml = 0.0;
  SegmentVolumes segments;
  // Threshold and condition.
  std::string liver_condition;
  double flr_threshold_percent = 0.0;
  std::string flr_basis;  // "FLR / ESLV" or "FLR / (total liver volume - tumour volume)"
  std::vector<ResectionEvaluation> resections;  // in kAllResections order
  // The remnant as drawn by hand (its functional volume against the same threshold), when one
  // was supplied; `preset` is meaningless there.
  std::optional<ResectionEvaluation> drawn_remnant;
  // Tumour facts.
  double tumour_burden_percent = 0.0;
  double tumour_burden_limit_percent = 50.0;
  bool burden_below_limit = true;
  int lesion_count = 0;
  double largest_diameter_mm = 0.0;
  int ablation_max_lesions = 5;
  double ablation_max_diameter_mm = 50.0;
  bool within_ablation_limits = false;  // count < max and every diameter < max
  TumourDistribution distribution = TumourDistribution::kNone;
  std::string distribution_evidence;
  std::vector<std::string> statements;  // the facts as sentences, for reports
};

// Hemiliver of a segment: 'R' for V-VIII, 'L' for II-IV, 'C' for I, '?' otherwise.
char hemiliver_of(int segment);

// Type I-III (see TumourDistribution). A lesion is dominant when it holds more than half the
// tumour volume and its longest diameter is at least twice that of every other lesion. A lesion
// counts in its main segment's hemiliver and in every other one holding at least a tenth of it
// (when segment_ml is known), and the evidence names the lesions that extend across.
TumourDistribution classify_distribution(const std::vector<PlanningLesion>& lesions,
                                         std::string* evidence);

ResectionEvaluation evaluate_resection(ResectionPreset preset, const SegmentVolumes& segments,
                                       const std::optional<double>& eslv_ml,
                                       double threshold_percent);

// The remnant drawn by hand: `remnant_ml` and `remnant_functional_ml` are its total and
// tumour-free volumes, `functional_ml` the whole liver's tumour-free volume.
ResectionEvaluation evaluate_drawn_remnant(double liver_ml, double remnant_ml,
                                           double remnant_functional_ml, double functional_ml,
                                           const std::optional<double>& eslv_ml,
                                           double threshold_percent);

SurgicalPlan plan_surgery(const SegmentVolumes& segments,
                          const std::vector<PlanningLesion>& lesions, const PlanningInputs& inputs);

}  // namespace livernode::processing
