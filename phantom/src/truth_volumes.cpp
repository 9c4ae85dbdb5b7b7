#include "truth_volumes.h"

#include <cmath>

#include "tissue_sampler.h"

namespace livernode::phantom {

namespace {
constexpr double kCellMm = 2.0;
constexpr int kSubsamples = 4;
}  // namespace

std::map<std::uint8_t, double> integrate_label_volumes(const Anatomy& anatomy, const Box& region) {
  processing::Geometry grid;
  for (int a = 0; a < 3; ++a) {
    const double length = region.hi[a] - region.lo[a];
    const auto n = static_cast<std::size_t>(std::ceil(length / kCellMm));
    grid.size[a] = n;
    grid.spacing[a] = length / static_cast<double>(n);
    grid.origin[a] = region.lo[a] + 0.5 * grid.spacing[a];
  }
  // Refine only where the truth label changes; air and "other body" count as one class.
  BoundaryClasses classes{};
  for (int t = 0; t < 256; ++t) {
    const std::uint8_t label = label_of(static_cast<TissueCode>(t));
    classes[t] = label == labels::kOtherBody ? labels::kBackground : label;
  }
  const TissueSamples samples = sample_tissues(anatomy, grid, {0, 0, 0}, kSubsamples, classes);

  const double cell_ml = grid.voxel_volume_ml();
  const double point_ml = cell_ml / (kSubsamples * kSubsamples * kSubsamples);
  std::map<std::uint8_t, double> volumes;
  for (std::size_t v = 0; v < samples.centre.size(); ++v) {
    const std::uint32_t m = samples.mix[v];
    if (m == TissueSamples::kPure) {
      volumes[label_of(samples.centre[v])] += cell_ml;
      continue;
    }
    for (std::uint32_t e = samples.mix_start[m]; e < samples.mix_start[m + 1]; ++e) {
      volumes[label_of(samples.entries[e].tissue)] += samples.entries[e].count * point_ml;
    }
  }
  volumes.erase(labels::kBackground);
  volumes.erase(labels::kOtherBody);
  return volumes;
}

}  // namespace livernode::phantom
