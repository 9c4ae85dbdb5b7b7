#include "portal_vein.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "mask_ops.h"
#include "median.h"

namespace livernode::processing::detail {

namespace {

constexpr double kAboveLiverHu = 15.0;  // a vessel must stand out from the parenchyma
// ... or, in a noisier image (low dose, sharp kernel), by this many robust SDs of the
// parenchyma's own spread: noise alone then does not join the vessel and dilute its attenuation.
constexpr double kAboveLiverSds = 3.0;
constexpr double kMaxVesselHu = 400.0;  // brighter is bone or calcium
constexpr double kHilumReachMm = 25.0;  // from the liver surface
constexpr double kRightOfMidlineMinMm = 5.0, kRightOfMidlineMaxMm = 70.0;
constexpr double kFrontOfSpineMinMm = 25.0, kFrontOfSpineMaxMm = 90.0;
constexpr double kMinVesselMl = 1.0;
constexpr double kAboveAortaMaxHu = 50.0;  // blood is not much brighter than the aorta
constexpr std::size_t kComponentsTried = 5;

}  // namespace

std::optional<double> measure_portal_vein(const AbdomenSurvey& survey, const LabelMap& liver,
                                          double liver_hu) {
  if (!survey.spine_x || !survey.spine_anterior_y || liver.empty()) return std::nullopt;
  const Volume& v = survey.coarse;
  const Geometry& g = v.geometry;
  if (!g.same_grid(liver.geometry)) return std::nullopt;
  // The hilum lies in the lower part of the liver's height.
  double z_lo = 1e9, z_hi = -1e9;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (liver.at(i, j, k)) {
          const double z = g.index_to_point(i, j, k)[2];
          z_lo = std::min(z_lo, z);
          z_hi = std::max(z_hi, z);
        }
  if (z_hi <= z_lo) return std::nullopt;
  const double z_top = z_lo + 0.7 * (z_hi - z_lo);
  double above = kAboveLiverHu;
  {
    std::vector<float> deviation;
    for (std::size_t p = 0; p < liver.voxels.size(); ++p)
      if (liver.voxels[p])
        deviation.push_back(std::abs(v.voxels[p] - static_cast<float>(liver_hu)));
    // The median absolute deviation from the liver's attenuation, as an SD (x 1.4826).
    above = std::max(above, kAboveLiverSds * 1.4826 * median(deviation));
  }
  const LabelMap near = dilate_mm(liver, kHilumReachMm);
  LabelMap bright(g, 0);
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const std::size_t p = v.offset(i, j, k);
        // Outside the liver: the extrahepatic trunk (inside, bright spots may be lipiodol or
        // enhancing tumour).
        if (!near.voxels[p] || liver.voxels[p] || !survey.body.voxels[p]) continue;
        const Vec3 pt = g.index_to_point(i, j, k);
        const double right = *survey.spine_x - pt[0], front = *survey.spine_anterior_y - pt[1];
        if (pt[2] > z_top || right < kRightOfMidlineMinMm || right > kRightOfMidlineMaxMm ||
            front < kFrontOfSpineMinMm || front > kFrontOfSpineMaxMm) {
          continue;
        }
        const float hu = v.voxels[p];
        bright.voxels[p] = hu > liver_hu + above && hu < kMaxVesselHu;
      }
  std::vector<std::size_t> sizes;
  const auto labels = connected_components(bright, &sizes);
  std::vector<std::vector<float>> values(std::min<std::size_t>(sizes.size(), kComponentsTried) + 1);
  for (std::size_t p = 0; p < labels.voxels.size(); ++p) {
    const auto l = labels.voxels[p];
    if (l >= 1 && l < values.size()) values[l].push_back(v.voxels[p]);
  }
  // The largest bright structure that is plausibly blood: not brighter than the aorta by far
  // (excreted contrast in the renal pelvis, oral contrast in the duodenum are). Its upper
  // quartile avoids the partial volume at its wall.
  for (std::size_t l = 1; l < values.size(); ++l) {
    auto& x = values[l];
    if (x.size() * g.voxel_volume_ml() < kMinVesselMl) break;
    auto q = x.begin() + x.size() * 3 / 4;
    std::nth_element(x.begin(), q, x.end());
    if (survey.aorta_hu && *q > *survey.aorta_hu + kAboveAortaMaxHu) continue;
    return *q;
  }
  return std::nullopt;
}

}  // namespace livernode::processing::detail
