// The liver atlas (livernode/processing/liver_atlas.h): its file format and the atlas built into
// the program.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "livernode/processing/liver_atlas.h"

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
  EXPECT_GT(atlas.at({-0.5, -0.5, -0.1}), 0.5);   // right lobe
  EXPECT_LT(atlas.at({0.7, 0.0, -0.9}), 0.01);    // left flank, low: colon, spleen, kidney
  EXPECT_LT(atlas.at({-0.5, -0.5, -1.5}), 0.01);  // the right iliac fossa
  EXPECT_LT(atlas.at({0.0, 0.5, -0.3}), 0.01);    // the vertebra
}

}  // namespace livernode::test
