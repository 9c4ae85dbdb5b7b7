// Lesion detection on small synthetic livers of thick slices: what is a lesion and what is the
// thick end of a fissure; a tumour at the surface left out of the liver mask, and a neighbouring
// organ's edge reaching into it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "lesion_detection.h"

namespace livernode::test {

using processing::LabelMap;
using processing::Phase;
using processing::Volume;
using processing::detail::AlignedPhase;
using processing::detail::detect_lesions;

namespace {

constexpr double kLiverHu = 100.0, kLesionHu = 50.0;

// A portal venous liver (an ellipsoid of 100 HU with a little deterministic noise) on a grid of
// 0.8 mm pixels and 5 mm slices, centred on the origin.
struct SyntheticLiver {
  Volume ct;
  LabelMap liver;

  // `pixels` across: the default leaves 5 mm between the liver and the edge of the grid.
  explicit SyntheticLiver(std::size_t pixels = 160) {
    processing::Geometry g;
    g.size = {pixels, pixels, 17};
    g.spacing = {0.8, 0.8, 5.0};
    const double half = 0.4 * (static_cast<double>(pixels) - 1.0);
    g.origin = {-half, -half, -40.0};
    ct = Volume(g, -60.0f);  // fat around the liver
    liver = LabelMap(g, 0);
    std::uint32_t state = 12345;
    for (std::size_t k = 0; k < g.size[2]; ++k)
      for (std::size_t j = 0; j < g.size[1]; ++j)
        for (std::size_t i = 0; i < g.size[0]; ++i) {
          const auto p = g.index_to_point(i, j, k);
          const double r =
              std::pow(p[0] / 58.0, 2) + std::pow(p[1] / 58.0, 2) + std::pow(p[2] / 36.0, 2);
          if (r > 1.0) continue;
          state = state * 1664525u + 1013904223u;
          const double noise = ((state >> 8) % 1000) / 1000.0 * 10.0 - 5.0;
          ct.voxels[ct.offset(i, j, k)] = static_cast<float>(kLiverHu + noise);
          liver.voxels[liver.offset(i, j, k)] = 1;
        }
  }

  // Sets every liver voxel whose centre `inside` holds to the lesion's attenuation; with
  // `anywhere`, voxels outside the liver as well. With `cut_out`, takes them out of the liver
  // mask (as the liver segmentation does with what does not look like parenchyma). Returns the
  // number of voxels painted.
  template <class Inside>
  std::size_t paint(Inside inside, bool cut_out = false, bool anywhere = false) {
    const auto& g = ct.geometry;
    std::size_t painted = 0;
    for (std::size_t k = 0; k < g.size[2]; ++k)
      for (std::size_t j = 0; j < g.size[1]; ++j)
        for (std::size_t i = 0; i < g.size[0]; ++i) {
          const std::size_t o = ct.offset(i, j, k);
          if (!(liver.voxels[o] || anywhere) || !inside(g.index_to_point(i, j, k))) continue;
          ct.voxels[o] = static_cast<float>(kLesionHu);
          if (cut_out) liver.voxels[o] = 0;
          ++painted;
        }
    return painted;
  }
};

bool in_sphere(const processing::Vec3& p, double x, double y, double z, double r) {
  return std::pow(p[0] - x, 2) + std::pow(p[1] - y, 2) + std::pow(p[2] - z, 2) <= r * r;
}

}  // namespace

// Two hypodense blobs of one size: one alone in the parenchyma (a lesion), one at the end of a
// thin hypodense plate running through several slices (a fissure, whose partial volume thickens
// where it ends). Only the first is a lesion.
TEST(LesionDetection, TheThickEndOfAThinHypodenseStructureIsNoLesion) {
  SyntheticLiver s;
  s.paint([](const processing::Vec3& p) { return in_sphere(p, -25.0, 0.0, 0.0, 6.5); });
  s.paint([](const processing::Vec3& p) {
    const bool plate =
        std::abs(p[0] - 22.0) <= 1.2 && p[1] >= 0.0 && p[1] <= 32.0 && std::abs(p[2]) <= 15.0;
    return plate || in_sphere(p, 22.0, 0.0, 0.0, 6.5);
  });
  const std::vector<AlignedPhase> phases{{Phase::kPortalVenous, "1.2.3", s.ct}};
  const auto found = detect_lesions(phases, 0, s.liver);
  ASSERT_EQ(found.lesions.size(), 1u) << found.method;
  EXPECT_LT(found.lesions[0].centroid_lps[0], 0.0) << "the lone blob, not the end of the plate";
  bool noted = false;
  for (const auto& n : found.notes)
    noted = noted || n.find("thin hypodense structure") != std::string::npos;
  EXPECT_TRUE(noted) << "the report says why a candidate was left out";
}

// Without the plate the second blob is a lesion like the first: the rule is about what hangs on
// a candidate, not where it lies.
TEST(LesionDetection, TwoLoneBlobsAreTwoLesions) {
  SyntheticLiver s;
  s.paint([](const processing::Vec3& p) {
    return in_sphere(p, -25.0, 0.0, 0.0, 6.5) || in_sphere(p, 22.0, 0.0, 0.0, 6.5);
  });
  const std::vector<AlignedPhase> phases{{Phase::kPortalVenous, "1.2.3", s.ct}};
  EXPECT_EQ(detect_lesions(phases, 0, s.liver).lesions.size(), 2u);
}

// A tumour at the surface (18 mm radius, its centre 10 mm inside) that the liver mask left out:
// a bite of 3 cm across in the surface, with fat beyond (a grid with room around the liver for
// its envelope, as a scan of the abdomen has). It is found, drawn where it is.
TEST(LesionDetection, ATumourCutOutOfTheLiverMaskAtTheSurfaceIsFound) {
  SyntheticLiver s(240);
  const std::size_t painted =
      s.paint([](const processing::Vec3& p) { return in_sphere(p, 48.0, 0.0, 0.0, 18.0); }, true);
  const std::vector<AlignedPhase> phases{{Phase::kPortalVenous, "1.2.3", s.ct}};
  const auto found = detect_lesions(phases, 0, s.liver);
  ASSERT_EQ(found.lesions.size(), 1u) << found.method;
  const double painted_ml = painted * s.ct.geometry.voxel_volume_ml();
  EXPECT_NEAR(found.lesions[0].volume_ml, painted_ml, 0.25 * painted_ml);
  EXPECT_GT(found.lesions[0].centroid_lps[0], 35.0);
}

// A band of tumour-like attenuation reaching 3 cm into the liver from its surface, 8 mm thick and
// 4 cm high (the edge of a neighbouring organ in a fissure), left out of the liver mask: flat,
// no lesion.
TEST(LesionDetection, ABandReachingIntoTheLiverFromItsSurfaceIsNoLesion) {
  SyntheticLiver s;
  s.paint(
      [](const processing::Vec3& p) {
        return std::abs(p[0]) <= 4.0 && p[1] >= 28.0 && std::abs(p[2]) <= 20.0;
      },
      true);
  const std::vector<AlignedPhase> phases{{Phase::kPortalVenous, "1.2.3", s.ct}};
  const auto found = detect_lesions(phases, 0, s.liver);
  EXPECT_EQ(found.lesions.size(), 0u) << found.method;
}

// Two round tumours (12 mm radius) 3 cm apart, joined by a band of their attenuation 7 mm thick
// (thicker than the candidates' opening, so one candidate that the split at necks takes apart
// again): each round, together flat. They are two lesions, not one cleft that is left out.
TEST(LesionDetection, TwoRoundTumoursJoinedByABandAreTwoLesions) {
  SyntheticLiver s;
  s.paint([](const processing::Vec3& p) {
    const bool band = std::abs(p[0]) <= 20.0 && std::abs(p[1]) <= 3.5 && std::abs(p[2]) <= 5.0;
    return band || in_sphere(p, -28.0, 0.0, 0.0, 12.0) || in_sphere(p, 28.0, 0.0, 0.0, 12.0);
  });
  const std::vector<AlignedPhase> phases{{Phase::kPortalVenous, "1.2.3", s.ct}};
  const auto found = detect_lesions(phases, 0, s.liver);
  ASSERT_EQ(found.lesions.size(), 2u) << found.method;
  EXPECT_LT(found.lesions[0].centroid_lps[0] * found.lesions[1].centroid_lps[0], 0.0)
      << "one on each side";
}

// A large tumour (22 mm radius, 45 mL) whose centre lies 6 mm inside the surface bulges out of
// the liver: the liver mask holds its inner part (about 30 mL), and about half of the shell
// around that part lies beyond the surface. It is a lesion all the same.
TEST(LesionDetection, ALargeTumourBulgingOutOfTheSurfaceIsFound) {
  SyntheticLiver s(240);
  s.paint([](const processing::Vec3& p) { return in_sphere(p, 52.0, 0.0, 0.0, 22.0); }, false,
          true);
  const std::vector<AlignedPhase> phases{{Phase::kPortalVenous, "1.2.3", s.ct}};
  const auto found = detect_lesions(phases, 0, s.liver);
  ASSERT_EQ(found.lesions.size(), 1u) << found.method;
  EXPECT_GT(found.lesions[0].volume_ml, 20.0);
  EXPECT_GT(found.lesions[0].centroid_lps[0], 35.0);
}

}  // namespace livernode::test
