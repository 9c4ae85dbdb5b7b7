// Follow-up of two phantom studies a few weeks apart: the growth of the remnant measured by
// `analyze --prior` against the phantom's truth.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "livernode/phantom/phantom.h"
#include "livernode/study/study_analysis.h"
#include "test_support.h"

using namespace livernode;
using nlohmann::json;
namespace fs = std::filesystem;

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
  study::AnalyseFolderOptions options;
  options.write_objects = false;
  const auto first = study::analyse_folder(dir / "p1" / "dicom", dir / "o1", options);
  ASSERT_TRUE(first.usable) << first.error;
  options.prior_summary = first.summary_path;
  const auto second = study::analyse_folder(dir / "p2" / "dicom", dir / "o2", options);
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
  std::printf(
      "remnant I-IV growth: truth %.1f mL, measured %.1f mL; DH %.1f points, KGR %.2f "
      "points/week\n",
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
