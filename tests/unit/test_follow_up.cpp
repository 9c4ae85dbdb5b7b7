// Follow-up against an earlier summary.json: dates, degree of hypertrophy, kinetic growth rate,
// lesions matched by position, RECIST sum; and two phantom studies a few weeks apart.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "livernode/node/follow_up.h"
#include "livernode/node/study_analysis.h"
#include "livernode/phantom/phantom.h"
#include "test_support.h"

using namespace livernode;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json lesion(int number, double x, double longest, double volume) {
  return {{"number", number},
          {"volume_ml", volume},
          {"longest_diameter_mm", longest},
          {"measurable_recist", longest >= 10.0},
          {"centroid_lps_mm", {x, 0.0, 0.0}}};
}

json analysis(const std::string& date, double liver, double flr, std::optional<double> sflr,
              double functional_share, json lesions) {
  json resection = {{"key", "left_trisectionectomy"},
                    {"name", "left trisectionectomy"},
                    {"segments_remaining", "I, VI-VII"},
                    {"flr_ml", flr},
                    {"flr_percent_of_eslv", sflr ? json(*sflr) : json(nullptr)},
                    {"flr_percent_of_functional_liver", functional_share}};
  return {{"study_date", date},
          {"volumetry", {{"liver_ml", liver}, {"functional_ml", liver - 50.0}}},
          {"surgical_plan", {{"resections", json::array({resection})}}},
          {"lesions", std::move(lesions)}};
}

}  // namespace

TEST(FollowUp, DaysBetweenDicomDates) {
  EXPECT_EQ(node::days_between("20261101", "20261122"), 21);
  EXPECT_EQ(node::days_between("20240228", "20240301"), 2);  // leap year
  EXPECT_EQ(node::days_between("20231231", "20240101"), 1);
  EXPECT_FALSE(node::days_between("2026-11-01", "20261122"));
  EXPECT_FALSE(node::days_between("", "20261122"));
}

// The ALPPS course of CLINICAL.md: FLR 328 -> 504 mL, FLR/ESLV 24 -> 38 % in 14 days:
// degree of hypertrophy 14 points, kinetic growth rate 14 / 2 = 7 points per week.
TEST(FollowUp, HypertrophyGrowthRateLesionsAndRecist) {
  const json before = analysis("20260101", 1500, 328, 24.0, 22.6,
                               {lesion(1, 0, 60, 80), lesion(2, 100, 30, 10), lesion(3, -100, 12, 1)});
  // Lesion 1 moved 5 mm and shrank to 48 mm, lesion 2 grew to 33 mm, lesion 3 is gone, a new
  // lesion appeared far from all of them.
  const json after = analysis("20260115", 1600, 504, 38.0, 32.5,
                              {lesion(1, 105, 33, 12), lesion(2, 5, 48, 50), lesion(3, 300, 15, 2)});
  const json f = node::compare_with_prior(after, before, "prior/summary.json");
  EXPECT_EQ(f["interval_days"].get<long>(), 14);
  EXPECT_DOUBLE_EQ(f["interval_weeks"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(f["total_liver_ml"]["change"].get<double>(), 100.0);
  ASSERT_EQ(f["remnants"].size(), 1u);
  const auto& r = f["remnants"][0];
  EXPECT_EQ(r["basis"], "FLR / ESLV");
  EXPECT_DOUBLE_EQ(r["flr_ml"]["change"].get<double>(), 176.0);
  EXPECT_DOUBLE_EQ(r["degree_of_hypertrophy_points"].get<double>(), 14.0);
  EXPECT_DOUBLE_EQ(r["kinetic_growth_rate_points_per_week"].get<double>(), 7.0);
  // Matching by position, not by number.
  const auto& m = f["lesions"]["matched"];
  ASSERT_EQ(m.size(), 2u);
  for (const auto& pair : m) {
    if (pair["number_before"] == 1) {
      EXPECT_EQ(pair["number_after"], 2);
    } else {
      EXPECT_EQ(pair["number_before"], 2);
      EXPECT_EQ(pair["number_after"], 1);
    }
  }
  EXPECT_EQ(f["lesions"]["not_found_again"], json::array({3}));
  EXPECT_EQ(f["lesions"]["new"], json::array({3}));
  // Targets: the two largest measurable lesions before (60 + 30 = 90 mm) -> 48 + 33 = 81 mm.
  EXPECT_DOUBLE_EQ(f["recist"]["sum_before_mm"].get<double>(), 90.0);
  EXPECT_DOUBLE_EQ(f["recist"]["sum_after_mm"].get<double>(), 81.0);
  EXPECT_DOUBLE_EQ(f["recist"]["change_percent"].get<double>(), -10.0);
  EXPECT_EQ(f["recist"]["new_lesions"].get<int>(), 1);
}

TEST(FollowUp, WithoutEslvInEitherStudyTheFunctionalShareIsCompared) {
  const json before = analysis("20260101", 1500, 328, std::nullopt, 22.0, json::array());
  const json after = analysis("20260129", 1600, 504, 38.0, 32.5, json::array());
  const json f = node::compare_with_prior(after, before, "p");
  const auto& r = f["remnants"][0];
  EXPECT_EQ(r["basis"], "FLR / (total liver volume - tumour volume)");
  EXPECT_DOUBLE_EQ(r["degree_of_hypertrophy_points"].get<double>(), 10.5);
  EXPECT_DOUBLE_EQ(r["kinetic_growth_rate_points_per_week"].get<double>(), 2.625);
}

// Two portal venous phantom studies three weeks apart, the left lobe grown by half at the second:
// `analyze --prior` reports the growth of the left-sided remnant (I-IV) close to the truth.
TEST(FollowUp, TwoPhantomStudiesOfTheSamePatient) {
  const fs::path dir = test::make_temp_dir("livernode-follow-up");
  phantom::PhantomOptions o;
  o.phases = {processing::Phase::kPortalVenous};
  o.seed = 3;
  const auto t1 = phantom::generate_phantom(o, dir / "p1");
  o.seed = 4;
  o.remnant_growth = 1.5;
  o.study_date = "20261122";
  const auto t2 = phantom::generate_phantom(o, dir / "p2");
  node::AnalyseFolderOptions options;
  options.write_objects = false;
  const auto first = node::analyse_folder(dir / "p1" / "dicom", dir / "o1", options);
  ASSERT_TRUE(first.usable) << first.error;
  options.prior_summary = first.summary_path;
  const auto second = node::analyse_folder(dir / "p2" / "dicom", dir / "o2", options);
  ASSERT_TRUE(second.usable) << second.error;
  const json f = second.summary["analyses"][0]["follow_up"];
  ASSERT_TRUE(f.is_object()) << second.summary["analyses"][0]["warnings"].dump();
  EXPECT_DOUBLE_EQ(f["interval_weeks"].get<double>(), 3.0);
  const json* right_hemi = nullptr;
  for (const auto& r : f["remnants"]) {
    if (r["key"] == "right_hemihepatectomy") right_hemi = &r;
  }
  ASSERT_TRUE(right_hemi);
  double truth_before = 0, truth_after = 0;
  for (int s = 1; s <= 4; ++s) {
    truth_before += t1.couinaud_volumes_ml[s];
    truth_after += t2.couinaud_volumes_ml[s];
  }
  const double truth_growth = truth_after - truth_before;
  const double growth = (*right_hemi)["flr_ml"]["change"].get<double>();
  std::printf("remnant I-IV growth: truth %.1f mL, measured %.1f mL; DH %.1f points, KGR %.2f points/week\n",
              truth_growth, growth, (*right_hemi)["degree_of_hypertrophy_points"].get<double>(),
              (*right_hemi)["kinetic_growth_rate_points_per_week"].get<double>());
  EXPECT_GT(truth_growth, 50.0);
  EXPECT_NEAR(growth, truth_growth, 0.3 * truth_growth);
  EXPECT_GT((*right_hemi)["degree_of_hypertrophy_points"].get<double>(), 0.0);
  EXPECT_NEAR((*right_hemi)["kinetic_growth_rate_points_per_week"].get<double>(),
              (*right_hemi)["degree_of_hypertrophy_points"].get<double>() / 3.0, 1e-9);
  // The lesions are the same shapes: most are found again.
  EXPECT_GE(f["lesions"]["matched"].size(), 3u);
  fs::remove_all(dir);
}
