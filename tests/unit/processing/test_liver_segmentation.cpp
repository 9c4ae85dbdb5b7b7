// The liver region's thin parts: a plate lying against the liver (a stomach wall, a bowel loop)
// that the split at necks floods into the liver's region goes where the atlas gives the liver no
// chance, and stays where it does.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "liver_segmentation.h"

namespace livernode::test {

using processing::LabelMap;
using processing::Volume;
using processing::detail::drop_unlikely_thin_parts;

namespace {

// A ball of 40 mm radius (the liver) with a plate 6 mm thick and 40 mm wide reaching 40 mm out of
// its side (a stomach wall against it), on a grid of 2 mm voxels; the atlas' probability is
// `ball_prior` over the ball and `plate_prior` beyond it.
struct BallAndPlate {
  LabelMap mask;
  Volume prior;
  std::size_t ball_voxels = 0, plate_voxels = 0;

  BallAndPlate(float ball_prior, float plate_prior) {
    processing::Geometry g;
    g.size = {70, 50, 50};
    g.spacing = {2.0, 2.0, 2.0};
    g.origin = {-50.0, -50.0, -50.0};
    mask = LabelMap(g, 0);
    prior = Volume(g, 0.0f);
    for (std::size_t k = 0; k < g.size[2]; ++k)
      for (std::size_t j = 0; j < g.size[1]; ++j)
        for (std::size_t i = 0; i < g.size[0]; ++i) {
          const auto pt = g.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                           static_cast<double>(k));
          const bool ball = std::hypot(pt[0], pt[1], pt[2]) <= 40.0;
          const bool plate = !ball && pt[0] > 0.0 && pt[0] <= 80.0 && std::abs(pt[1]) <= 3.0 &&
                             std::abs(pt[2]) <= 20.0;
          mask.at(i, j, k) = ball || plate;
          prior.at(i, j, k) = ball ? ball_prior : plate_prior;
          ball_voxels += ball;
          plate_voxels += plate;
        }
  }

  std::size_t kept(const LabelMap& m, bool in_plate) const {
    std::size_t n = 0;
    const auto& g = m.geometry;
    for (std::size_t k = 0; k < g.size[2]; ++k)
      for (std::size_t j = 0; j < g.size[1]; ++j)
        for (std::size_t i = 0; i < g.size[0]; ++i) {
          const auto pt = g.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                           static_cast<double>(k));
          const bool plate = std::hypot(pt[0], pt[1], pt[2]) > 40.0;
          n += m.at(i, j, k) && plate == in_plate;
        }
    return n;
  }
};

}  // namespace

TEST(LiverThinParts, APlateWhereNoLiverLiesIsDroppedAndTheLiverKept) {
  BallAndPlate scene(0.6f, 0.01f);
  LabelMap mask = scene.mask;
  drop_unlikely_thin_parts(mask, scene.prior);
  ASSERT_GT(scene.plate_voxels, 500u);
  // At most the plate's root, where it meets the ball's surface, stays.
  EXPECT_LT(scene.kept(mask, true), scene.plate_voxels / 10);
  EXPECT_EQ(scene.kept(mask, false), scene.ball_voxels);
}

TEST(LiverThinParts, APlateWhereLiversLieIsKept) {
  BallAndPlate scene(0.6f, 0.3f);
  LabelMap mask = scene.mask;
  drop_unlikely_thin_parts(mask, scene.prior);
  EXPECT_EQ(scene.kept(mask, true), scene.plate_voxels);
  EXPECT_EQ(scene.kept(mask, false), scene.ball_voxels);
}

}  // namespace livernode::test
