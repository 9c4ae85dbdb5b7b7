#include "livernode/study/summary_json.h"

#include "livernode/dicom/result_writers.h"

namespace livernode::study {

using nlohmann::json;
namespace lp = livernode::processing;

namespace {

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// A figure before and after, its change and its change in percent (null unless before > 0).
json before_after_json(const processing::FollowUpChange& c) {
  return {{"before", c.before},
          {"after", c.after},
          {"change", c.after - c.before},
          {"change_percent",
           c.before > 0 ? json(100.0 * (c.after - c.before) / c.before) : json(nullptr)}};
}

json optional_change_json(const std::optional<processing::FollowUpChange>& c) {
  return c ? before_after_json(*c) : json(nullptr);
}

std::optional<double> number_at(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

std::string string_at(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return {};
  return j[key].get<std::string>();
}

const json& member(const json& j, const char* key) {
  static const json null_json;
  return j.is_object() && j.contains(key) ? j[key] : null_json;
}

}  // namespace

json vec_json(const processing::Vec3& v) { return json::array({v[0], v[1], v[2]}); }

json phase_json(const processing::PhaseEstimate& pa) {
  return {{"detected", processing::phase_name(pa.phase)},
          {"confidence", pa.confidence},
          {"header_suggests", processing::phase_name(pa.header_phase)},
          {"aorta_hu", optional_json(pa.aorta_hu)},
          {"portal_vein_hu", optional_json(pa.portal_vein_hu)},
          {"liver_hu", optional_json(pa.liver_hu)},
          {"evidence", pa.evidence}};
}

json mr_phase_json(const processing::MrTimePointResult& tp) {
  return {{"detected", processing::mr_phase_name(tp.phase)},
          {"confidence", tp.confidence},
          {"header_suggests", processing::mr_phase_name(tp.header_phase)},
          {"seconds_after_first", optional_json(tp.seconds_after_first)},
          {"aorta_to_muscle", optional_json(tp.aorta_ratio)},
          {"hepatic_vessels_to_muscle", optional_json(tp.vessel_ratio)},
          {"liver_to_muscle", optional_json(tp.liver_ratio)},
          {"aorta_enhancement", optional_json(tp.aorta_enhancement)},
          {"hepatic_vessels_enhancement", optional_json(tp.vessel_enhancement)},
          {"liver_enhancement", optional_json(tp.liver_enhancement)},
          {"muscle_signal", optional_json(tp.muscle_signal)},
          {"bias_field_range", {tp.bias_low, tp.bias_high}},
          {"evidence", tp.evidence}};
}

void add_liver_json(const processing::AnalysisResult& result, json& analysis) {
  if (!result.liver) {
    analysis["liver"] = nullptr;
    return;
  }
  analysis["liver"] = {{"volume_ml", result.liver->volume_ml},
                       {"mean_hu", result.liver->mean_hu},
                       {"method", result.liver->method}};
  // Where this patient's anatomy lies in this study's coordinates: follow-up aligns an
  // earlier study's lesions by these before matching them.
  analysis["landmarks"] = {
      {"liver_dome_z_mm", result.liver->top_z_mm},
      {"ivc_axis_lps_mm", result.ivc_axis_lps ? vec_json(*result.ivc_axis_lps) : json(nullptr)}};
}

json stages_json(const processing::AnalysisResult& result) {
  json stages = json::array();
  for (const auto& st : result.stages) {
    stages.push_back(
        {{"stage", st.stage}, {"done", st.done}, {"detail", st.detail}, {"seconds", st.seconds}});
  }
  return stages;
}

json written_object_json(const dicom::WrittenObject& o, const std::filesystem::path& out) {
  return {{"path", std::filesystem::relative(o.file, out).generic_string()},
          {"kind", o.kind},
          {"sop_class_uid", o.sop_class_uid},
          {"sop_instance_uid", o.sop_instance_uid},
          {"series_instance_uid", o.series_instance_uid}};
}

json seg_segments_json(const dicom::WrittenSegmentation& seg) {
  // What each SEG holds, segment by segment, as a viewer counts it.
  json segments = json::array();
  for (const auto& s : seg.segments) {
    segments.push_back({{"number", s.number},
                        {"label", s.label},
                        {"type", s.type_code},
                        {"voxels", s.voxels},
                        {"volume_ml", s.volume_ml()},
                        {"analysis_voxels", s.mask_voxels}});
  }
  return segments;
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
           {{"right", c.vein_azimuth_deg[0]},
            {"middle", c.vein_azimuth_deg[1]},
            {"left", c.vein_azimuth_deg[2]}}},
          {"method", c.method},
          {"notes", c.notes}};
}

json remnant_json(const processing::ResectionEvaluation& r) {
  return {
      {"flr_ml", r.flr_ml},
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
          {"eslv_absent_reason",
           p.eslv_absent_reason.empty() ? json(nullptr) : json(p.eslv_absent_reason)},
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

json lesions_json(const processing::AnalysisResult& result) {
  json out = json::array();
  const auto sites = dicom::lesion_sites(result);
  for (const auto& l : result.lesions) {
    // Where the lesion lies: its Couinaud segments by overlap, largest share first (null without
    // Couinaud segments).
    json segments = nullptr;
    if (!result.couinaud_labels.empty()) {
      segments = json::array();
      const auto it = sites.find(l.number);
      if (it != sites.end()) {
        for (const auto& s : it->second) {
          segments.push_back({{"segment", processing::couinaud_roman(s.segment)},
                              {"volume_ml", s.volume_ml},
                              {"percent", s.percent}});
        }
      }
    }
    json phases = json::array();
    for (const auto& m : l.phases) {
      json phase = {{"series_instance_uid", m.series_uid},
                    {"enhancing_fraction", m.enhancing_fraction}};
      if (result.magnetic_resonance) {
        // MR: no HU; signal relative to paraspinal muscle and to the surrounding liver.
        phase["phase"] = m.mr_phase;
        phase["signal_to_muscle"] = m.mean_hu;
        phase["sd_to_muscle"] = m.sd_hu;
        phase["liver_signal_to_muscle"] = m.liver_hu;
        phase["signal_to_liver"] = optional_json(m.signal_to_liver);
      } else {
        phase["phase"] = processing::phase_name(m.phase);
        phase["mean_hu"] = m.mean_hu;
        phase["sd_hu"] = m.sd_hu;
        phase["liver_hu"] = m.liver_hu;
        phase["enhancement_hu"] = m.enhancement;
      }
      phases.push_back(std::move(phase));
    }
    json lesion = {{"number", l.number},
                   {"volume_ml", l.volume_ml},
                   {"longest_diameter_mm", l.longest_diameter_mm},
                   {"short_axis_mm", l.short_axis_mm},
                   {"measurable_recist", l.measurable},
                   {"centroid_lps_mm", vec_json(l.centroid_lps)},
                   {"axial_slice_index", l.axial_slice},
                   {"long_axis_lps_mm", {vec_json(l.long_axis[0]), vec_json(l.long_axis[1])}},
                   {"short_axis_lps_mm", {vec_json(l.short_axis[0]), vec_json(l.short_axis[1])}},
                   {"type", processing::lesion_type_name(l.type)},
                   {"type_evidence", l.type_evidence},
                   {"couinaud_segments", std::move(segments)},
                   {"phases", std::move(phases)}};
    if (result.magnetic_resonance) {
      // MR: no HU; signal relative to paraspinal muscle, T2 relative to the surrounding liver.
      lesion["signal_to_muscle"] = l.mean_hu;
      lesion["sd_to_muscle"] = l.sd_hu;
      lesion["t2_to_liver"] = optional_json(l.t2_to_liver);
      lesion["adc_to_liver"] = optional_json(l.adc_to_liver);
    } else {
      lesion["mean_hu"] = l.mean_hu;
      lesion["sd_hu"] = l.sd_hu;
    }
    out.push_back(std::move(lesion));
  }
  return out;
}

json volumetry_json(const processing::AnalysisResult& result) {
  if (!result.volumetry) return nullptr;
  const auto& v = *result.volumetry;
  return {{"liver_ml", v.liver_ml},           {"tumour_ml", v.tumour_ml},
          {"functional_ml", v.functional_ml}, {"tumour_burden_percent", v.burden_percent},
          {"lesion_count", v.lesion_count},   {"findings", v.findings}};
}

json corrections_json(const processing::AnalysisResult& result) {
  if (!result.manual) return nullptr;
  const auto& m = *result.manual;
  nlohmann::json out = {{"source", m.source},
                        {"liver_manual", m.liver},
                        {"lesions_manual", m.lesions},
                        {"remnant_manual", m.remnant},
                        {"notes", m.notes}};
  if (result.surgical_plan && result.surgical_plan->drawn_remnant) {
    out["drawn_remnant"] = remnant_json(*result.surgical_plan->drawn_remnant);
  }
  return out;
}

json follow_up_json(const processing::FollowUpComparison& f) {
  json out;
  out["prior_summary"] = f.prior_summary;
  out["prior_study_instance_uids"] = f.prior_study_uids;
  out["prior_study_date"] = f.prior_study_date;
  out["study_date"] = f.study_date;
  out["interval_days"] = f.interval_days ? json(*f.interval_days) : json(nullptr);
  out["interval_weeks"] =
      f.interval_days && *f.interval_days > 0 ? json(*f.interval_days / 7.0) : json(nullptr);
  out["total_liver_ml"] = optional_change_json(f.total_liver_ml);
  out["functional_liver_ml"] = optional_change_json(f.functional_liver_ml);
  json remnants = json::array();
  for (const auto& r : f.remnants) {
    remnants.push_back(
        {{"key", r.key},
         {"name", r.name},
         {"segments_remaining", r.segments},
         {"flr_ml", before_after_json(r.flr_ml)},
         {"basis", r.eslv_basis ? "FLR / ESLV" : "FLR / (total liver volume - tumour volume)"},
         {"percent_before", r.percent.before},
         {"percent_after", r.percent.after},
         {"degree_of_hypertrophy_points", r.hypertrophy_points},
         {"kinetic_growth_rate_points_per_week", optional_json(r.growth_points_per_week)},
         {"statement", r.statement}});
  }
  out["remnants"] = std::move(remnants);
  out["alignment"] = {
      {"landmarks", f.alignment_landmarks},
      {"shift_mm", {f.alignment_shift_mm[0], f.alignment_shift_mm[1], f.alignment_shift_mm[2]}}};
  json matched = json::array();
  for (const auto& l : f.lesions) {
    matched.push_back({{"number_before", l.number_before},
                       {"number_after", l.number_after},
                       {"distance_mm", l.distance_mm},
                       {"longest_diameter_mm", before_after_json(l.longest_diameter_mm)},
                       {"volume_ml", before_after_json(l.volume_ml)}});
  }
  out["lesions"] = {{"matched", std::move(matched)},
                    {"not_found_again", f.lesions_not_found_again},
                    {"new", f.new_lesions}};
  const double sum_b = f.recist_sum_mm.before, sum_a = f.recist_sum_mm.after;
  out["recist"] = {
      {"target_lesions_before", f.recist_target_numbers},
      {"sum_before_mm", sum_b},
      {"sum_after_mm", sum_a},
      {"change_mm", sum_a - sum_b},
      {"change_percent", sum_b > 0 ? json(100.0 * (sum_a - sum_b) / sum_b) : json(nullptr)},
      {"new_lesions", f.new_lesions.size()}};
  out["statements"] = f.statements;
  return out;
}

FollowUpFacts read_follow_up_facts(const json& analysis) {
  FollowUpFacts f;
  f.study_date = string_at(analysis, "study_date");
  f.frame_of_reference_uid = string_at(analysis, "frame_of_reference_uid");
  const json& uids = member(analysis, "study_instance_uids");
  if (uids.is_array()) {
    for (const auto& u : uids) {
      if (u.is_string()) f.study_instance_uids.push_back(u.get<std::string>());
    }
  }
  const json& volumetry = member(analysis, "volumetry");
  f.liver_ml = number_at(volumetry, "liver_ml");
  f.functional_ml = number_at(volumetry, "functional_ml");
  const json& plan = member(analysis, "surgical_plan");
  f.has_surgical_plan = plan.is_object();
  const json& resections = member(plan, "resections");
  if (resections.is_array()) {
    for (const auto& r : resections) {
      // A remnant without its FLR volume cannot be compared.
      const auto flr = number_at(r, "flr_ml");
      if (!flr) continue;
      FollowUpResection e;
      e.key = string_at(r, "key");
      e.name = string_at(r, "name");
      e.segments_remaining = string_at(r, "segments_remaining");
      e.flr_ml = *flr;
      e.percent_of_eslv = number_at(r, "flr_percent_of_eslv");
      e.percent_of_functional = number_at(r, "flr_percent_of_functional_liver");
      f.resections.push_back(std::move(e));
    }
  }
  const json& landmarks = member(analysis, "landmarks");
  const json& ivc = member(landmarks, "ivc_axis_lps_mm");
  if (ivc.is_array() && ivc.size() >= 2 && ivc[0].is_number() && ivc[1].is_number()) {
    f.ivc_axis_lps_mm = std::array<double, 2>{ivc[0].get<double>(), ivc[1].get<double>()};
  }
  f.liver_dome_z_mm = number_at(landmarks, "liver_dome_z_mm");
  const json& lesions = member(analysis, "lesions");
  if (lesions.is_array()) {
    for (const auto& l : lesions) {
      if (!l.is_object()) continue;
      FollowUpLesionFacts e;
      if (l.contains("number") && l["number"].is_number()) e.number = l["number"].get<int>();
      e.volume_ml = number_at(l, "volume_ml").value_or(0.0);
      e.longest_diameter_mm = number_at(l, "longest_diameter_mm").value_or(0.0);
      e.measurable_recist = l.contains("measurable_recist") &&
                            l["measurable_recist"].is_boolean() &&
                            l["measurable_recist"].get<bool>();
      const json& c = member(l, "centroid_lps_mm");
      if (c.is_array() && c.size() == 3 && c[0].is_number() && c[1].is_number() &&
          c[2].is_number()) {
        for (std::size_t a = 0; a < 3; ++a) e.centroid_lps_mm[a] = c[a].get<double>();
      }
      f.lesions.push_back(e);
    }
  }
  return f;
}

std::optional<FollowUpFacts> read_prior_analysis(const json& summary) {
  try {
    const json& analyses = member(summary, "analyses");
    if (!analyses.is_array()) return std::nullopt;
    for (const auto& a : analyses) {
      if (!member(a, "surgical_plan").is_null()) return read_follow_up_facts(a);
    }
    for (const auto& a : analyses) {
      if (!member(a, "liver").is_null()) return read_follow_up_facts(a);
    }
  } catch (const json::exception&) {
    // Every figure is read with its type checked; a summary that still fails is no summary.
  }
  return std::nullopt;
}

}  // namespace livernode::study
