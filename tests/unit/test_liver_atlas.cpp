// The liver atlas (livernode/processing/liver_atlas.h): its file format, the atlas built into the
// program, and what it does on real single series when it is built from the other cases only.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "atlas_cases.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/node/study_analysis.h"
#include "livernode/processing/analysis.h"
#include "livernode/processing/liver_atlas.h"
#include "test_support.h"

namespace livernode::test {

namespace {

processing::LiverAtlas ramp_atlas() {
  processing::LiverAtlas a;
  const auto& n = processing::LiverAtlas::kSize;
  a.probability.resize(n[0] * n[1] * n[2]);
  for (std::size_t p = 0; p < a.probability.size(); ++p) a.probability[p] = (p % 256) / 255.0f;
  a.cases = 3;
  a.source = "a ramp";
  return a;
}

}  // namespace

TEST(LiverAtlas, FileRoundTripsAndRefusesWhatIsNotAnAtlas) {
  const auto atlas = ramp_atlas();
  const std::string bytes = processing::serialise_liver_atlas(atlas);
  const auto back = processing::parse_liver_atlas(bytes);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back.cases, 3);
  EXPECT_EQ(back.source, "a ramp");
  for (std::size_t p = 0; p < atlas.probability.size(); ++p)
    ASSERT_NEAR(back.probability[p], atlas.probability[p], 0.5 / 255.0);
  EXPECT_TRUE(processing::parse_liver_atlas(bytes.substr(0, bytes.size() - 1)).empty());
  EXPECT_TRUE(processing::parse_liver_atlas("not an atlas\n").empty());
  EXPECT_TRUE(processing::parse_liver_atlas("").empty());
  // Outside the grid the liver has no chance.
  EXPECT_EQ(back.at({5.0, 0.0, 0.0}), 0.0);
}

// The built-in atlas puts the liver where anatomy does: under the right hemidiaphragm, in front
// of the spine's front; never low on the left, nor in the pelvis.
TEST(LiverAtlas, BuiltInAtlasPutsTheLiverInTheRightUpperQuadrant) {
  const auto& atlas = processing::builtin_liver_atlas();
  ASSERT_FALSE(atlas.empty());
  EXPECT_GE(atlas.cases, 3);
  std::printf("built-in atlas: %d livers (%s)\n", atlas.cases, atlas.source.c_str());
  // u: half-widths to the left (negative: right); v: depths back from the spine's front; w:
  // half-widths up from the right lung's base.
  EXPECT_GT(atlas.at({-0.5, -0.5, -0.1}), 0.5);  // right lobe
  EXPECT_LT(atlas.at({0.7, 0.0, -0.9}), 0.01);   // left flank, low: colon, spleen, kidney
  EXPECT_LT(atlas.at({-0.5, -0.5, -1.5}), 0.01);  // the right iliac fossa
  EXPECT_LT(atlas.at({0.0, 0.5, -0.3}), 0.01);   // the vertebra
}

// 1720's series alone with an atlas of the other cases (leave-one-out): the flank muscles, the
// tissue round the pancreatic head and the stomach no longer join the liver (without the atlas,
// +11.1 % and +10.9 %).
TEST(LiverAtlas, Hcc1720SeriesAloneWithAnAtlasOfTheOtherCasesKeepTheirVolume) {
  const auto data = shared_data();
  LIVERNODE_REQUIRE_DATA(data / "real" / "hcc-tace-1720");
  std::vector<processing::AtlasSample> others;
  for (auto& s : bench::real_atlas_samples(data))
    if (s.case_name != "hcc-tace-1720") others.push_back(std::move(s.sample));
  ASSERT_GE(others.size(), 2u);
  const auto atlas = processing::build_liver_atlas(others, "the other cases");
  const auto case_dir = data / "real" / "hcc-tace-1720";
  for (const char* series : {"10_AP_Ax5.00mm", "31_EQP_Ax5.00mm"}) {
    const auto scan = dicom::scan_directory(case_dir / "ct" / series);
    ASSERT_EQ(scan.series.size(), 1u);
    const auto loaded = dicom::load_volume(scan.series[0]);
    processing::StudyInput study;
    study.series.push_back({scan.series[0].series_uid, &loaded.volume, node::series_hints(scan.series[0])});
    processing::AnalysisOptions options;
    options.liver_atlas = &atlas;
    const auto result = processing::analyse(study, options);
    ASSERT_TRUE(result.liver.has_value()) << series;
    const auto truth = bench::seg_truth(case_dir / "truth", loaded.volume.geometry);
    ASSERT_FALSE(truth.liver.empty());
    const auto score = bench::overlap(result.liver_mask, truth.liver);
    std::printf("%s alone, atlas of the other cases: Dice %.3f, volume %+.1f %%\n", series,
                score.dice(), score.volume_error_percent());
    EXPECT_LT(std::abs(score.volume_error_percent()), 6.0) << series;
    EXPECT_GE(score.dice(), 0.85) << series;
    bool said = false;
    for (const auto& st : result.stages)
      said = said || (st.stage == "liver" && st.detail.find("probabilistic atlas of 3 livers") != std::string::npos);
    EXPECT_TRUE(said) << "the report names the atlas";
  }
}

}  // namespace livernode::test
