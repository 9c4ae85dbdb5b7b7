// Follow-up on typed figures: the one reader of an earlier summary.json (older files without
// landmarks or RECIST flags, current files, damaged files) and the comparison of an analysis
// result with the figures read, without any file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "livernode/processing/surgical_planning.h"
#include "livernode/study/follow_up.h"
#include "livernode/study/summary_json.h"

using namespace livernode;
using nlohmann::json;

namespace {

// An analysis of an early version: no frame of reference, no landmarks, no surgical plan, no
// RECIST flag or centroid on the lesions.
json old_style_summary() {
  return json::parse(R"({
    "analyses": [
      {"study_date": "20250301", "liver": null},
      {"study_date": "20250302",
       "study_instance_uids": ["1.2.3"],
       "liver": {"volume_ml": 1480.5},
       "volumetry": {"liver_ml": 1480.5, "tumour_ml": 20.0},
       "lesions": [{"number": 1, "volume_ml": 12.5, "longest_diameter_mm": 31.0},
                   {"number": 2}]}
    ]})");
}

json current_resection(const char* key, double flr, const json& of_eslv, double of_functional) {
  return {{"name", std::string(key) + " name"},
          {"key", key},
          {"segments_removed", "V-VIII"},
          {"segments_remaining", "I-IV"},
          {"resected_ml", 900.0},
          {"flr_ml", flr},
          {"flr_percent_of_functional_liver", of_functional},
          {"flr_percent_of_eslv", of_eslv},
          {"threshold_percent", 20.0},
          {"at_or_above_threshold", true},
          {"statement", "x"}};
}

json current_summary() {
  json with_liver = {{"study_date", "20261101"},
                     {"frame_of_reference_uid", "9.1"},
                     {"study_instance_uids", {"1.1"}},
                     {"liver", {{"volume_ml", 1400.0}}},
                     {"surgical_plan", nullptr}};
  json planned = {
      {"study_date", "20261102"},
      {"frame_of_reference_uid", "9.2"},
      {"study_instance_uids", {"1.2", "1.3"}},
      {"liver", {{"volume_ml", 1500.0}}},
      {"landmarks", {{"liver_dome_z_mm", 101.5}, {"ivc_axis_lps_mm", {-40.0, 12.0, 0.0}}}},
      {"volumetry", {{"liver_ml", 1500.0}, {"functional_ml", 1450.0}}},
      {"surgical_plan",
       {{"resections",
         {current_resection("right_hemihepatectomy", 420.0, 24.0, 29.0),
          current_resection("left_hemihepatectomy", 900.0, nullptr, 62.0)}}}},
      {"lesions",
       {{{"number", 1},
         {"volume_ml", 30.0},
         {"longest_diameter_mm", 40.0},
         {"measurable_recist", true},
         {"centroid_lps_mm", {10.0, 20.0, 30.0}},
         {"type", "hypovascular"}}}}};
  return {{"analyses", {with_liver, planned}}};
}

}  // namespace

TEST(FollowUpReader, AnOldSummaryGivesWhatItHoldsAndLeavesTheRestAbsent) {
  const auto prior = study::read_prior_analysis(old_style_summary());
  ASSERT_TRUE(prior);
  EXPECT_EQ(prior->study_date, "20250302");  // the first analysis with a liver
  EXPECT_EQ(prior->study_instance_uids, std::vector<std::string>{"1.2.3"});
  EXPECT_TRUE(prior->frame_of_reference_uid.empty());
  ASSERT_TRUE(prior->liver_ml);
  EXPECT_DOUBLE_EQ(*prior->liver_ml, 1480.5);
  EXPECT_FALSE(prior->functional_ml);
  EXPECT_FALSE(prior->has_surgical_plan);
  EXPECT_TRUE(prior->resections.empty());
  EXPECT_FALSE(prior->ivc_axis_lps_mm);
  EXPECT_FALSE(prior->liver_dome_z_mm);
  ASSERT_EQ(prior->lesions.size(), 2u);
  EXPECT_EQ(prior->lesions[0].number, 1);
  EXPECT_DOUBLE_EQ(prior->lesions[0].longest_diameter_mm, 31.0);
  EXPECT_FALSE(prior->lesions[0].measurable_recist);
  EXPECT_EQ(prior->lesions[0].centroid_lps_mm, (std::array<double, 3>{0, 0, 0}));
  EXPECT_EQ(prior->lesions[1].number, 2);
  EXPECT_DOUBLE_EQ(prior->lesions[1].volume_ml, 0.0);
}

TEST(FollowUpReader, ACurrentSummaryGivesTheAnalysisWithASurgicalPlan) {
  const auto prior = study::read_prior_analysis(current_summary());
  ASSERT_TRUE(prior);
  EXPECT_EQ(prior->study_date, "20261102");
  EXPECT_EQ(prior->frame_of_reference_uid, "9.2");
  EXPECT_EQ(prior->study_instance_uids, (std::vector<std::string>{"1.2", "1.3"}));
  EXPECT_DOUBLE_EQ(prior->functional_ml.value_or(0), 1450.0);
  EXPECT_TRUE(prior->has_surgical_plan);
  ASSERT_EQ(prior->resections.size(), 2u);
  EXPECT_EQ(prior->resections[0].key, "right_hemihepatectomy");
  EXPECT_EQ(prior->resections[0].segments_remaining, "I-IV");
  EXPECT_DOUBLE_EQ(prior->resections[0].flr_ml, 420.0);
  EXPECT_DOUBLE_EQ(prior->resections[0].percent_of_eslv.value_or(0), 24.0);
  EXPECT_FALSE(prior->resections[1].percent_of_eslv);
  EXPECT_DOUBLE_EQ(prior->resections[1].percent_of_functional.value_or(0), 62.0);
  ASSERT_TRUE(prior->ivc_axis_lps_mm);
  EXPECT_DOUBLE_EQ((*prior->ivc_axis_lps_mm)[0], -40.0);
  EXPECT_DOUBLE_EQ(prior->liver_dome_z_mm.value_or(0), 101.5);
  ASSERT_EQ(prior->lesions.size(), 1u);
  EXPECT_TRUE(prior->lesions[0].measurable_recist);
  EXPECT_EQ(prior->lesions[0].centroid_lps_mm, (std::array<double, 3>{10, 20, 30}));
}

TEST(FollowUpReader, ADamagedSummaryIsNoPriorAndNeverThrows) {
  EXPECT_FALSE(study::read_prior_analysis(json(nullptr)));
  EXPECT_FALSE(study::read_prior_analysis(json::array({1, 2})));
  EXPECT_FALSE(study::read_prior_analysis(json{{"analyses", 5}}));
  EXPECT_FALSE(study::read_prior_analysis(json{{"analyses", {1, "x", {{"liver", nullptr}}}}}));
  // Figures of the wrong type are absent, not an exception.
  const json odd = {{"analyses",
                     {{{"liver", {{"volume_ml", 1}}},
                       {"study_date", 20261101},
                       {"study_instance_uids", "1.2"},
                       {"volumetry", {{"liver_ml", "1500"}}},
                       {"surgical_plan", {{"resections", {{{"key", "x"}}, 3}}}},
                       {"landmarks", {{"ivc_axis_lps_mm", {nullptr, 1.0}}}},
                       {"lesions", {{{"number", "one"}, {"centroid_lps_mm", {1, "2", 3}}}, 7}}}}}};
  std::optional<study::FollowUpFacts> prior;
  ASSERT_NO_THROW(prior = study::read_prior_analysis(odd));
  ASSERT_TRUE(prior);
  EXPECT_TRUE(prior->study_date.empty());
  EXPECT_TRUE(prior->study_instance_uids.empty());
  EXPECT_FALSE(prior->liver_ml);
  EXPECT_TRUE(prior->has_surgical_plan);
  EXPECT_TRUE(prior->resections.empty());  // no FLR volume: nothing to compare
  EXPECT_FALSE(prior->ivc_axis_lps_mm);
  ASSERT_EQ(prior->lesions.size(), 1u);
  EXPECT_EQ(prior->lesions[0].number, 0);
}

namespace {

processing::ResectionEvaluation resection(double flr, std::optional<double> of_eslv,
                                          double of_functional) {
  processing::ResectionEvaluation r;
  r.preset = processing::ResectionPreset::kRightHemihepatectomy;
  r.name = "Right hemihepatectomy";
  r.removed = "V-VIII";
  r.remaining = "I-IV";
  r.flr_ml = flr;
  r.flr_percent_of_eslv = of_eslv;
  r.flr_percent_of_functional = of_functional;
  return r;
}

processing::LesionResult lesion(int number, double x, double longest, double volume) {
  processing::LesionResult l;
  l.number = number;
  l.volume_ml = volume;
  l.longest_diameter_mm = longest;
  l.measurable = longest >= 10.0;
  l.centroid_lps = {x, 0.0, 0.0};
  return l;
}

// The later analysis: FLR 504 mL, FLR / ESLV 38 %, lesions 1 (33 mm at x = 105 after the
// shift), 2 (48 mm at x = 5) and a new one far away; landmarks 25 mm further left.
processing::AnalysisResult later_result() {
  processing::AnalysisResult r;
  r.liver = processing::LiverResult{};
  r.liver->volume_ml = 1600.0;
  r.liver->top_z_mm = 100.0;
  r.ivc_axis_lps = processing::Vec3{-15.0, 10.0, 0.0};
  r.volumetry = processing::Volumetry{};
  r.volumetry->liver_ml = 1600.0;
  r.volumetry->functional_ml = 1550.0;
  r.surgical_plan = processing::SurgicalPlan{};
  r.surgical_plan->resections = {resection(504.0, 38.0, 32.5)};
  r.lesions = {lesion(1, 130, 33, 12), lesion(2, 30, 48, 50), lesion(3, 325, 15, 2)};
  return r;
}

// The earlier figures, as read from its summary: FLR 328 mL, FLR / ESLV 24 %, 14 days before.
study::FollowUpFacts earlier_facts() {
  study::FollowUpFacts f;
  f.study_date = "20260101";
  f.study_instance_uids = {"1.1", "1.1b"};
  f.liver_ml = 1500.0;
  f.functional_ml = 1450.0;
  f.has_surgical_plan = true;
  study::FollowUpResection r;
  r.key = "right_hemihepatectomy";
  r.name = "Right hemihepatectomy";
  r.segments_remaining = "I-IV";
  r.flr_ml = 328.0;
  r.percent_of_eslv = 24.0;
  r.percent_of_functional = 22.6;
  f.resections = {r};
  f.ivc_axis_lps_mm = std::array<double, 2>{-40.0, 10.0};
  f.liver_dome_z_mm = 100.0;
  auto l = [](int number, double x, double longest, double volume) {
    study::FollowUpLesionFacts e;
    e.number = number;
    e.volume_ml = volume;
    e.longest_diameter_mm = longest;
    e.measurable_recist = longest >= 10.0;
    e.centroid_lps_mm = {x, 0.0, 0.0};
    return e;
  };
  f.lesions = {l(1, 0, 60, 80), l(2, 100, 30, 10), l(3, -100, 12, 1)};
  return f;
}

}  // namespace

// The ALPPS course of CLINICAL.md on typed figures: degree of hypertrophy 14 points, kinetic
// growth rate 7 points per week, lesions matched by position after the landmark shift.
TEST(FollowUpTyped, HypertrophyLesionMatchingAndRecistWithoutAnyFile) {
  const auto f = study::compare_with_prior(later_result(), "20260115", earlier_facts(), "p.json");
  EXPECT_TRUE(f.unavailable_reason.empty());
  EXPECT_EQ(f.prior_summary, "p.json");
  EXPECT_EQ(f.prior_study_uid, "1.1");
  EXPECT_EQ(f.prior_study_uids.size(), 2u);
  EXPECT_EQ(f.interval_days, 14);
  ASSERT_TRUE(f.total_liver_ml);
  EXPECT_DOUBLE_EQ(f.total_liver_ml->after - f.total_liver_ml->before, 100.0);
  ASSERT_EQ(f.remnants.size(), 1u);
  const auto& r = f.remnants[0];
  EXPECT_TRUE(r.eslv_basis);
  EXPECT_EQ(r.segments, "I-IV");
  EXPECT_DOUBLE_EQ(r.flr_ml.after - r.flr_ml.before, 176.0);
  EXPECT_DOUBLE_EQ(r.hypertrophy_points, 14.0);
  ASSERT_TRUE(r.growth_points_per_week);
  EXPECT_DOUBLE_EQ(*r.growth_points_per_week, 7.0);
  EXPECT_NE(r.statement.find("at or above 2 %/week"), std::string::npos) << r.statement;
  EXPECT_EQ(f.alignment_shift_mm, (std::array<double, 3>{25.0, 0.0, 0.0}));
  // Matching by position, not by number: 1 -> 2 (5 mm), 2 -> 1 (5 mm).
  ASSERT_EQ(f.lesions.size(), 2u);
  for (const auto& m : f.lesions) {
    EXPECT_EQ(m.number_after, m.number_before == 1 ? 2 : 1);
    EXPECT_NEAR(m.distance_mm, 5.0, 1e-9);
  }
  EXPECT_EQ(f.lesions_not_found_again, std::vector<int>{3});
  EXPECT_EQ(f.new_lesions, std::vector<int>{3});
  EXPECT_EQ(f.recist_target_lesions, 2);
  EXPECT_EQ(f.recist_target_numbers, (std::vector<int>{1, 2}));
  EXPECT_DOUBLE_EQ(f.recist_sum_mm.before, 90.0);
  EXPECT_DOUBLE_EQ(f.recist_sum_mm.after, 81.0);
  EXPECT_FALSE(f.statements.empty());
}

// The typed comparison written as the "follow_up" section equals the comparison of the two
// analyses as summary.json holds them.
TEST(FollowUpTyped, TheWrittenSectionIsTheComparisonOfTheSummaryEntries) {
  const processing::AnalysisResult later = later_result();
  json current = {{"study_date", "20260115"}};
  study::add_liver_json(later, current);
  current["lesions"] = study::lesions_json(later);
  current["volumetry"] = study::volumetry_json(later);
  current["surgical_plan"] = study::surgical_plan_json(later);
  const study::FollowUpFacts earlier = earlier_facts();
  const json typed =
      study::follow_up_json(study::compare_with_prior(later, "20260115", earlier, "p"));
  // The earlier figures written back as a summary entry give the same section.
  json prior = {
      {"study_date", earlier.study_date},
      {"study_instance_uids", earlier.study_instance_uids},
      {"volumetry", {{"liver_ml", 1500.0}, {"functional_ml", 1450.0}}},
      {"surgical_plan",
       {{"resections",
         {{{"key", "right_hemihepatectomy"},
           {"name", "Right hemihepatectomy"},
           {"segments_remaining", "I-IV"},
           {"flr_ml", 328.0},
           {"flr_percent_of_eslv", 24.0},
           {"flr_percent_of_functional_liver", 22.6}}}}}},
      {"landmarks", {{"ivc_axis_lps_mm", {-40.0, 10.0, 0.0}}, {"liver_dome_z_mm", 100.0}}},
      {"lesions", json::array()}};
  for (const auto& l : earlier.lesions) {
    prior["lesions"].push_back(
        {{"number", l.number},
         {"volume_ml", l.volume_ml},
         {"longest_diameter_mm", l.longest_diameter_mm},
         {"measurable_recist", l.measurable_recist},
         {"centroid_lps_mm", {l.centroid_lps_mm[0], l.centroid_lps_mm[1], l.centroid_lps_mm[2]}}});
  }
  EXPECT_EQ(typed, study::compare_with_prior(current, prior, "p")) << typed.dump(2);
  EXPECT_EQ(typed["recist"]["target_lesions_before"], json::array({1, 2}));
  EXPECT_EQ(typed["remnants"][0]["basis"], "FLR / ESLV");
  EXPECT_DOUBLE_EQ(typed["interval_weeks"].get<double>(), 2.0);
}
