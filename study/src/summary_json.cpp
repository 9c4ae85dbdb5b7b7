#include "surgical_plan_json.h"

namespace livernode::node {

using nlohmann::json;
namespace lp = livernode::processing;

processing::PlanningInputs planning_inputs(const config::ClinicalConfig& clinical,
                                           const dicom::PatientFacts& patient) {
  lp::PlanningInputs in;
  in.height_m = patient.size_m;
  in.weight_kg = patient.weight_kg;
  in.bsa_formula = clinical.bsa_formula == config::BsaFormula::dubois ? lp::BsaFormula::kDuBois
                                                                      : lp::BsaFormula::kMosteller;
  in.eslv_formula = clinical.eslv_formula == config::EslvFormula::urata ? lp::EslvFormula::kUrata
                                                                        : lp::EslvFormula::kVauthey;
  switch (clinical.liver_condition) {
    case config::LiverCondition::chemotherapy: in.condition = lp::LiverCondition::kChemotherapy; break;
    case config::LiverCondition::cirrhosis: in.condition = lp::LiverCondition::kCirrhosis; break;
    case config::LiverCondition::normal: in.condition = lp::LiverCondition::kNormal; break;
  }
  in.flr_threshold_percent = {clinical.flr_thresholds_percent.normal,
                              clinical.flr_thresholds_percent.chemotherapy,
                              clinical.flr_thresholds_percent.cirrhosis};
  in.tumour_burden_limit_percent = clinical.tumour_burden_limit_percent;
  in.ablation_max_lesions = clinical.ablation_max_lesions;
  in.ablation_max_diameter_mm = clinical.ablation_max_diameter_mm;
  return in;
}

json couinaud_json(const processing::AnalysisResult& result) {
  if (!result.couinaud) return nullptr;
  const auto& c = *result.couinaud;
  json segments = json::array();
  double total = 0.0;
  for (int s = 1; s <= lp::kCouinaudSegments; ++s) total += c.volume_ml[s];
  for (int s = 1; s <= lp::kCouinaudSegments; ++s) {
    segments.push_back({{"segment", lp::couinaud_roman(s)},
                        {"number", s},
                        {"volume_ml", c.volume_ml[s]},
                        {"tumour_ml", c.tumour_ml[s]},
                        {"functional_ml", c.volume_ml[s] - c.tumour_ml[s]},
                        {"percent_of_liver", total > 0 ? 100.0 * c.volume_ml[s] / total : 0.0}});
  }
  return {{"segments", std::move(segments)},
          {"ivc_axis_lps_mm", {c.ivc_lps[0], c.ivc_lps[1]}},
          {"portal_plane_z_mm", c.portal_plane_z},
          {"hepatic_vein_azimuth_deg",
           {{"right", c.vein_azimuth_deg[0]}, {"middle", c.vein_azimuth_deg[1]}, {"left", c.vein_azimuth_deg[2]}}},
          {"method", c.method},
          {"notes", c.notes}};
}

json remnant_json(const processing::ResectionEvaluation& r) {
  return {{"flr_ml", r.flr_ml},
          {"flr_percent_of_functional_liver", r.flr_percent_of_functional},
          {"flr_percent_of_eslv", r.flr_percent_of_eslv ? json(*r.flr_percent_of_eslv) : json(nullptr)},
          {"threshold_percent", r.threshold_percent},
          {"at_or_above_threshold", r.at_or_above_threshold},
          {"statement", r.statement}};
}

json surgical_plan_json(const processing::AnalysisResult& result) {
  if (!result.surgical_plan) return nullptr;
  const auto& p = *result.surgical_plan;
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json resections = json::array();
  for (const auto& r : p.resections) {
    json entry = {{"name", r.name},
                  {"key", lp::resection_key(r.preset)},
                  {"segments_removed", r.removed},
                  {"segments_remaining", r.remaining},
                  {"resected_ml", r.resected_ml}};
    entry.update(remnant_json(r));
    resections.push_back(std::move(entry));
  }
  return {{"bsa_m2", opt(p.bsa_m2)},
          {"bsa_formula", p.bsa_formula},
          {"eslv_ml", opt(p.eslv_ml)},
          {"eslv_formula", p.eslv_formula},
          {"eslv_absent_reason", p.eslv_absent_reason.empty() ? json(nullptr) : json(p.eslv_absent_reason)},
          {"total_liver_ml", p.total_liver_ml},
          {"tumour_ml", p.tumour_ml},
          {"functional_liver_ml", p.functional_liver_ml},
          {"liver_condition", p.liver_condition},
          {"flr_threshold_percent", p.flr_threshold_percent},
          {"flr_basis", p.flr_basis},
          {"resections", std::move(resections)},
          {"tumour_burden_percent", p.tumour_burden_percent},
          {"tumour_burden_limit_percent", p.tumour_burden_limit_percent},
          {"tumour_burden_below_limit", p.burden_below_limit},
          {"lesion_count", p.lesion_count},
          {"largest_diameter_mm", p.largest_diameter_mm},
          {"ablation_max_lesions", p.ablation_max_lesions},
          {"ablation_max_diameter_mm", p.ablation_max_diameter_mm},
          {"within_ablation_limits", p.within_ablation_limits},
          {"distribution", lp::tumour_distribution_name(p.distribution)},
          {"distribution_evidence", p.distribution_evidence},
          {"statements", p.statements}};
}

}  // namespace livernode::node
