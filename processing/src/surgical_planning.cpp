#include "livernode/processing/surgical_planning.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "text_format.h"

namespace livernode::processing {

using detail::fixed;

const char* bsa_formula_name(BsaFormula f) {
  return f == BsaFormula::kDuBois ? "DuBois" : "Mosteller";
}

const char* bsa_formula_text(BsaFormula f) {
  return f == BsaFormula::kDuBois ? "DuBois: 0.007184 x weight_kg^0.425 x height_cm^0.725"
                                  : "Mosteller: sqrt(height_cm x weight_kg / 3600)";
}

const char* eslv_formula_name(EslvFormula f) {
  return f == EslvFormula::kUrata ? "Urata" : "Vauthey";
}

const char* eslv_formula_text(EslvFormula f) {
  return f == EslvFormula::kUrata ? "Urata: 706.2 x BSA + 2.4 mL"
                                  : "Vauthey: -794.41 + 1267.28 x BSA mL";
}

const char* liver_condition_name(LiverCondition c) {
  switch (c) {
    case LiverCondition::kChemotherapy:
      return "liver after more than 3 months of chemotherapy";
    case LiverCondition::kCirrhosis:
      return "cirrhosis or fibrosis";
    case LiverCondition::kNormal:
      break;
  }
  return "normal liver";
}

double body_surface_area_m2(BsaFormula formula, double height_cm, double weight_kg) {
  if (formula == BsaFormula::kDuBois) {
    return 0.007184 * std::pow(weight_kg, 0.425) * std::pow(height_cm, 0.725);
  }
  return std::sqrt(height_cm * weight_kg / 3600.0);
}

double estimated_standard_liver_volume_ml(EslvFormula formula, double bsa_m2) {
  if (formula == EslvFormula::kUrata) return 706.2 * bsa_m2 + 2.4;
  return -794.41 + 1267.28 * bsa_m2;
}

const char* couinaud_roman(int segment) {
  static const char* const names[] = {"", "I", "II", "III", "IV", "V", "VI", "VII", "VIII"};
  return segment >= 1 && segment <= kCouinaudSegments ? names[segment] : "";
}

const char* resection_name(ResectionPreset r) {
  switch (r) {
    case ResectionPreset::kRightHemihepatectomy:
      return "right hemihepatectomy";
    case ResectionPreset::kRightTrisectionectomy:
      return "right trisectionectomy";
    case ResectionPreset::kLeftHemihepatectomy:
      return "left hemihepatectomy";
    case ResectionPreset::kLeftLateralSectionectomy:
      return "left lateral sectionectomy";
    case ResectionPreset::kLeftTrisectionectomy:
      return "left trisectionectomy";
  }
  return "";
}

const char* resection_key(ResectionPreset r) {
  switch (r) {
    case ResectionPreset::kRightHemihepatectomy:
      return "right_hemihepatectomy";
    case ResectionPreset::kRightTrisectionectomy:
      return "right_trisectionectomy";
    case ResectionPreset::kLeftHemihepatectomy:
      return "left_hemihepatectomy";
    case ResectionPreset::kLeftLateralSectionectomy:
      return "left_lateral_sectionectomy";
    case ResectionPreset::kLeftTrisectionectomy:
      return "left_trisectionectomy";
  }
  return "";
}

std::vector<int> resected_segments(ResectionPreset r) {
  switch (r) {
    case ResectionPreset::kRightHemihepatectomy:
      return {5, 6, 7, 8};
    case ResectionPreset::kRightTrisectionectomy:
      return {4, 5, 6, 7, 8};
    case ResectionPreset::kLeftHemihepatectomy:
      return {2, 3, 4};
    case ResectionPreset::kLeftLateralSectionectomy:
      return {2, 3};
    case ResectionPreset::kLeftTrisectionectomy:
      return {2, 3, 4, 5, 8};
  }
  return {};
}

std::string segments_text(const std::vector<int>& segments) {
  // Runs of consecutive numbers of length >= 3 are written as ranges ("II-V"), shorter runs
  // are listed ("II-III" is the Brisbane spelling of a pair as well).
  std::string out;
  std::size_t i = 0;
  while (i < segments.size()) {
    std::size_t j = i;
    while (j + 1 < segments.size() && segments[j + 1] == segments[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += couinaud_roman(segments[i]);
    if (j > i) {
      out += "-";
      out += couinaud_roman(segments[j]);
    }
    i = j + 1;
  }
  return out;
}

double flr_threshold_for(const PlanningInputs& in) {
  return in.flr_threshold_percent[static_cast<std::size_t>(in.condition)];
}

char hemiliver_of(int segment) {
  if (segment == 1) return 'C';
  if (segment >= 2 && segment <= 4) return 'L';
  if (segment >= 5 && segment <= 8) return 'R';
  return '?';
}

const char* tumour_distribution_name(TumourDistribution d) {
  switch (d) {
    case TumourDistribution::kNone:
      return "no lesion";
    case TumourDistribution::kTypeI:
      return "type I (single lesion)";
    case TumourDistribution::kTypeII:
      return "type II (one dominant lesion with smaller lesions in both hemilivers)";
    case TumourDistribution::kTypeIII:
      return "type III (multiple lesions in both hemilivers)";
    case TumourDistribution::kUnilobarMultiple:
      return "multiple lesions confined to one hemiliver (outside types I-III)";
    case TumourDistribution::kUndetermined:
      return "undetermined (lesion segments unknown)";
  }
  return "";
}

TumourDistribution classify_distribution(const std::vector<PlanningLesion>& lesions,
                                         std::string* evidence) {
  std::ostringstream e;
  auto done = [&](TumourDistribution d) {
    if (evidence) *evidence = e.str();
    return d;
  };
  if (lesions.empty()) {
    e << "no lesion detected";
    return done(TumourDistribution::kNone);
  }
  if (lesions.size() == 1) {
    e << "one lesion";
    return done(TumourDistribution::kTypeI);
  }
  int right = 0, left = 0, caudate = 0, unknown = 0;
  std::ostringstream across;  // lesions reaching into another hemiliver than their main one
  for (const auto& l : lesions) {
    const char main = hemiliver_of(l.segment);
    std::map<char, double> extra;  // hemiliver -> volume of the lesion there (not the main one)
    double total = 0.0;
    for (int s = 1; s <= kCouinaudSegments; ++s) total += l.segment_ml[s];
    for (int s = 1; s <= kCouinaudSegments && main != '?'; ++s) {
      const char h = hemiliver_of(s);
      if (h != main && total > 0.0 && l.segment_ml[s] > 0.0) extra[h] += l.segment_ml[s];
    }
    std::set<char> in = {main};
    for (const auto& [h, ml] : extra) {
      if (ml < 0.1 * total) continue;
      in.insert(h);
      std::string where;
      for (int s = 1; s <= kCouinaudSegments; ++s)
        if (hemiliver_of(s) == h && l.segment_ml[s] > 0.0)
          where += (where.empty() ? "" : ", ") + std::string(couinaud_roman(s));
      across << "; lesion " << l.number << " extends into "
             << (h == 'L'   ? "the left hemiliver"
                 : h == 'R' ? "the right hemiliver"
                            : "the caudate lobe")
             << " (" << where << ", " << fixed(ml, 1) << " mL)";
    }
    for (char h : in) {
      switch (h) {
        case 'R':
          ++right;
          break;
        case 'L':
          ++left;
          break;
        case 'C':
          ++caudate;
          break;
        default:
          ++unknown;
          break;
      }
    }
  }
  e << lesions.size() << " lesions: " << right << " in the right hemiliver (V-VIII), " << left
    << " in the left (II-IV), " << caudate << " in the caudate lobe (I)" << across.str();
  if (unknown > 0) {
    e << ", " << unknown << " without a segment";
    return done(TumourDistribution::kUndetermined);
  }
  // The caudate drains to both sides; it counts as the side that makes the spread bilobar.
  const bool bilobar =
      (right > 0 && left > 0) || (caudate > 0 && (right > 0 || left > 0)) || caudate > 1;
  std::vector<const PlanningLesion*> by_volume;
  double total = 0.0;
  for (const auto& l : lesions) {
    by_volume.push_back(&l);
    total += l.volume_ml;
  }
  std::sort(by_volume.begin(), by_volume.end(),
            [](const auto* a, const auto* b) { return a->volume_ml > b->volume_ml; });
  const PlanningLesion& big = *by_volume[0];
  bool dominant = total > 0.0 && big.volume_ml > 0.5 * total;
  for (std::size_t i = 1; i < by_volume.size(); ++i) {
    if (big.longest_diameter_mm < 2.0 * by_volume[i]->longest_diameter_mm) dominant = false;
  }
  e << "; largest lesion " << fixed(big.volume_ml, 1) << " mL of " << fixed(total, 1)
    << " mL tumour, " << fixed(big.longest_diameter_mm, 0) << " mm"
    << (dominant ? " (dominant: over half the tumour volume and at least twice the diameter of "
                   "every other lesion)"
                 : " (no dominant lesion)");
  if (!bilobar) return done(TumourDistribution::kUnilobarMultiple);
  return done(dominant ? TumourDistribution::kTypeII : TumourDistribution::kTypeIII);
}

namespace {

// FLR / ESLV when the ESLV is known, else FLR / functional volume, against r.threshold_percent;
// completes the statement begun in `s`.
void judge_remnant(ResectionEvaluation& r, const std::optional<double>& eslv_ml,
                   std::ostringstream& s) {
  if (eslv_ml && *eslv_ml > 0.0) {
    r.flr_percent_of_eslv = 100.0 * r.flr_ml / *eslv_ml;
    r.at_or_above_threshold = *r.flr_percent_of_eslv >= r.threshold_percent;
    s << ", FLR/ESLV " << fixed(*r.flr_percent_of_eslv, 1) << " %";
  } else {
    r.at_or_above_threshold = r.flr_percent_of_functional >= r.threshold_percent;
  }
  s << ", FLR/functional liver volume " << fixed(r.flr_percent_of_functional, 1) << " %; "
    << (r.at_or_above_threshold ? "at or above" : "below") << " the "
    << fixed(r.threshold_percent, 0) << " % threshold";
  r.statement = s.str();
}

}  // namespace

ResectionEvaluation evaluate_resection(ResectionPreset preset, const SegmentVolumes& segments,
                                       const std::optional<double>& eslv_ml,
                                       double threshold_percent) {
  ResectionEvaluation r;
  r.preset = preset;
  r.name = resection_name(preset);
  const auto removed = resected_segments(preset);
  std::vector<int> remaining;
  double functional_total = 0.0;
  for (int s = 1; s <= kCouinaudSegments; ++s) {
    functional_total += segments.functional(s);
    if (std::find(removed.begin(), removed.end(), s) != removed.end()) {
      r.resected_ml += segments.total_ml[s];
    } else {
      remaining.push_back(s);
      r.flr_ml += segments.functional(s);
    }
  }
  r.removed = segments_text(removed);
  r.remaining = segments_text(remaining);
  r.flr_percent_of_functional = functional_total > 0 ? 100.0 * r.flr_ml / functional_total : 0.0;
  r.threshold_percent = threshold_percent;
  std::ostringstream s;
  s << r.name << " (removes " << r.removed << ", " << fixed(r.resected_ml, 0) << " mL): FLR "
    << r.remaining << " " << fixed(r.flr_ml, 0) << " mL";
  judge_remnant(r, eslv_ml, s);
  return r;
}

ResectionEvaluation evaluate_drawn_remnant(double liver_ml, double remnant_ml,
                                           double remnant_functional_ml, double functional_ml,
                                           const std::optional<double>& eslv_ml,
                                           double threshold_percent) {
  ResectionEvaluation r;
  r.name = "remnant drawn by hand";
  r.removed = "the rest of the liver";
  r.remaining = "as drawn";
  r.resected_ml = std::max(0.0, liver_ml - remnant_ml);
  r.flr_ml = remnant_functional_ml;
  r.flr_percent_of_functional = functional_ml > 0 ? 100.0 * r.flr_ml / functional_ml : 0.0;
  r.threshold_percent = threshold_percent;
  std::ostringstream s;
  s << "remnant drawn by hand (removes " << fixed(r.resected_ml, 0) << " mL): FLR "
    << fixed(r.flr_ml, 0) << " mL";
  judge_remnant(r, eslv_ml, s);
  return r;
}

BodySize body_size(const PlanningInputs& inputs) {
  BodySize b;
  if (!inputs.height_m || !inputs.weight_kg || !(*inputs.height_m > 0) ||
      !(*inputs.weight_kg > 0)) {
    std::string missing =
        !inputs.height_m || !(*inputs.height_m > 0)
            ? (!inputs.weight_kg || !(*inputs.weight_kg > 0) ? "height and weight" : "height")
            : "weight";
    b.eslv_absent_reason = "no ESLV: the patient's " + missing +
                           " (PatientSize, PatientWeight) are not in the images; the FLR is "
                           "given as a share of the functional liver volume (total liver "
                           "volume - tumour volume) instead";
    return b;
  }
  b.bsa_m2 = body_surface_area_m2(inputs.bsa_formula, *inputs.height_m * 100.0, *inputs.weight_kg);
  const double eslv = estimated_standard_liver_volume_ml(inputs.eslv_formula, *b.bsa_m2);
  if (eslv > 0.0) {
    b.eslv_ml = eslv;
  } else {
    b.eslv_absent_reason = "no ESLV: the " + std::string(eslv_formula_name(inputs.eslv_formula)) +
                           " formula gives " + fixed(eslv, 0) + " mL for BSA " +
                           fixed(*b.bsa_m2, 2) + " m2";
  }
  return b;
}

SurgicalPlan plan_surgery(const SegmentVolumes& segments,
                          const std::vector<PlanningLesion>& lesions,
                          const PlanningInputs& inputs) {
  SurgicalPlan plan;
  plan.segments = segments;
  for (int s = 1; s <= kCouinaudSegments; ++s) {
    plan.total_liver_ml += segments.total_ml[s];
    plan.tumour_ml += segments.tumour_ml[s];
  }
  plan.functional_liver_ml = plan.total_liver_ml - plan.tumour_ml;
  plan.bsa_formula = bsa_formula_text(inputs.bsa_formula);
  plan.eslv_formula = eslv_formula_text(inputs.eslv_formula);
  const BodySize body = body_size(inputs);
  plan.bsa_m2 = body.bsa_m2;
  plan.eslv_ml = body.eslv_ml;
  plan.eslv_absent_reason = body.eslv_absent_reason;
  plan.liver_condition = liver_condition_name(inputs.condition);
  plan.flr_threshold_percent = flr_threshold_for(inputs);
  plan.flr_basis = plan.eslv_ml ? "FLR / ESLV" : "FLR / (total liver volume - tumour volume)";
  for (ResectionPreset r : kAllResections) {
    plan.resections.push_back(
        evaluate_resection(r, segments, plan.eslv_ml, plan.flr_threshold_percent));
  }

  plan.tumour_burden_limit_percent = inputs.tumour_burden_limit_percent;
  plan.tumour_burden_percent =
      plan.total_liver_ml > 0 ? 100.0 * plan.tumour_ml / plan.total_liver_ml : 0.0;
  plan.burden_below_limit = plan.tumour_burden_percent < inputs.tumour_burden_limit_percent;
  plan.lesion_count = static_cast<int>(lesions.size());
  for (const auto& l : lesions)
    plan.largest_diameter_mm = std::max(plan.largest_diameter_mm, l.longest_diameter_mm);
  plan.ablation_max_lesions = inputs.ablation_max_lesions;
  plan.ablation_max_diameter_mm = inputs.ablation_max_diameter_mm;
  plan.within_ablation_limits = plan.lesion_count > 0 &&
                                plan.lesion_count < inputs.ablation_max_lesions &&
                                plan.largest_diameter_mm < inputs.ablation_max_diameter_mm;
  plan.distribution = classify_distribution(lesions, &plan.distribution_evidence);

  // The facts as sentences.
  auto& st = plan.statements;
  if (plan.eslv_ml) {
    st.push_back("BSA " + fixed(*plan.bsa_m2, 2) + " m2 (" + plan.bsa_formula + "), ESLV " +
                 fixed(*plan.eslv_ml, 0) + " mL (" + plan.eslv_formula + ")");
  } else {
    st.push_back(plan.eslv_absent_reason);
  }
  st.push_back("total liver " + fixed(plan.total_liver_ml, 0) + " mL, tumour " +
               fixed(plan.tumour_ml, 1) + " mL, functional " + fixed(plan.functional_liver_ml, 0) +
               " mL");
  st.push_back("FLR threshold " + fixed(plan.flr_threshold_percent, 0) + " % of " +
               (plan.eslv_ml ? "ESLV" : "the functional liver volume") + " for " +
               plan.liver_condition);
  for (const auto& r : plan.resections) st.push_back(r.statement);
  st.push_back("tumour burden " + fixed(plan.tumour_burden_percent, 1) +
               " % of the liver volume, " + (plan.burden_below_limit ? "below" : "at or above") +
               " the " + fixed(plan.tumour_burden_limit_percent, 0) + " % limit");
  st.push_back(std::to_string(plan.lesion_count) + " lesion(s), largest " +
               fixed(plan.largest_diameter_mm, 0) + " mm; ablation limits (fewer than " +
               std::to_string(plan.ablation_max_lesions) + " lesions, each under " +
               fixed(plan.ablation_max_diameter_mm / 10.0, 0) + " cm) " +
               (plan.within_ablation_limits ? "met" : "not met"));
  st.push_back(std::string("distribution: ") + tumour_distribution_name(plan.distribution) + "; " +
               plan.distribution_evidence);
  return plan;
}

}  // namespace livernode::processing
