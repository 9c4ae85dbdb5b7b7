#include "liver_islands.h"

#include <algorithm>
#include <cmath>

#include "mask_ops.h"
#include "median.h"

namespace livernode::processing::detail {

namespace {

constexpr float kNoData = -1500.0f;
constexpr double kMinIslandMm2 = 200.0;   // smaller pieces are left to the closing's judgement
constexpr double kMaxIslandMm2 = 4000.0;  // a piece this large is a lobe, not a wall
constexpr double kToleranceHu = 20.0;     // island median vs liver median, per phase

}  // namespace

std::size_t drop_islands_unlike_the_liver(LabelMap& liver, const std::vector<AlignedPhase>& phases,
                                          std::size_t reference_phase) {
  const Geometry& g = liver.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2], plane = nx * ny;
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];
  // The liver's median in every other phase.
  std::vector<std::size_t> others;
  std::vector<double> liver_hu;
  for (std::size_t p = 0; p < phases.size(); ++p) {
    if (p == reference_phase || !phases[p].volume.geometry.same_grid(g)) continue;
    std::vector<float> sample;
    for (std::size_t q = 0; q < liver.voxels.size(); q += 5)
      if (liver.voxels[q] && phases[p].volume.voxels[q] > kNoData)
        sample.push_back(phases[p].volume.voxels[q]);
    if (sample.size() < 1000) continue;
    others.push_back(p);
    liver_hu.push_back(median(sample));
  }
  if (others.empty()) return 0;

  std::size_t removed = 0;
  for (std::size_t k = 0; k < nz; ++k) {
    std::uint8_t* slice = liver.voxels.data() + k * plane;
    const auto parts = plane_components(slice, nx, ny);
    if (parts.size() < 2) continue;
    std::size_t main = 0;
    for (std::size_t c = 1; c < parts.size(); ++c)
      if (parts[c].size() > parts[main].size()) main = c;
    for (std::size_t c = 0; c < parts.size(); ++c) {
      const double area = parts[c].size() * pixel_mm2;
      if (c == main || area < kMinIslandMm2 || area > kMaxIslandMm2) continue;
      bool unlike = false;
      for (std::size_t o = 0; o < others.size() && !unlike; ++o) {
        std::vector<float> values;
        for (std::size_t q : parts[c]) {
          const float v = phases[others[o]].volume.voxels[k * plane + q];
          if (v > kNoData) values.push_back(v);
        }
        if (values.size() * 2 < parts[c].size()) continue;  // mostly outside that scan
        unlike = std::abs(median(values) - liver_hu[o]) > kToleranceHu;
      }
      if (!unlike) continue;
      for (std::size_t q : parts[c]) slice[q] = 0;
      removed += parts[c].size();
    }
  }
  if (removed > 0) {
    const auto labels = connected_components(liver, nullptr);
    for (std::size_t q = 0; q < liver.voxels.size(); ++q) {
      if (liver.voxels[q] && labels.voxels[q] != 1) {
        liver.voxels[q] = 0;
        ++removed;
      }
    }
  }
  return removed;
}

}  // namespace livernode::processing::detail
