#include "tissue_synthesis.h"

#include <cmath>

namespace livernode::phantom {

void mean_slice(const TissueSamples& samples, std::size_t k, const CodeTable& table,
                std::vector<double>& out, const RegionalExcess* excess) {
  const processing::Geometry& g = samples.geometry;
  const std::size_t per_slice = g.size[0] * g.size[1];
  const double per_point = 1.0 / std::pow(samples.subsamples, 3);
  out.resize(per_slice);
  // The excess at voxel n of this slice, for the whole voxel.
  auto excess_at = [&](std::size_t n) {
    const Vec3 p = g.index_to_point(n % g.size[0], n / g.size[0], k);
    double r2 = 0.0;
    for (int a = 0; a < 3; ++a) {
      const double d = p[a] - excess->shift[a] - excess->centre[a];
      r2 += d * d;
    }
    return excess->amplitude_hu * std::exp(-r2 / (2.0 * excess->sigma_mm * excess->sigma_mm));
  };
  for (std::size_t n = 0; n < per_slice; ++n) {
    const std::size_t v = k * per_slice + n;
    double value = 0.0;
    const std::uint32_t m = samples.mix[v];
    if (m == TissueSamples::kPure) {
      value = table[samples.centre[v]];
      if (excess && samples.centre[v] == excess->tissue) value += excess_at(n);
    } else {
      for (std::uint32_t e = samples.mix_start[m]; e < samples.mix_start[m + 1]; ++e) {
        const double share = samples.entries[e].count * per_point;
        value += share * table[samples.entries[e].tissue];
        if (excess && samples.entries[e].tissue == excess->tissue) value += share * excess_at(n);
      }
    }
    out[n] = value;
  }
}

processing::LabelMap truth_labels(const TissueSamples& samples) {
  processing::LabelMap labels(samples.geometry);
  for (std::size_t v = 0; v < labels.voxels.size(); ++v)
    labels.voxels[v] = label_of(samples.centre[v]);
  return labels;
}

}  // namespace livernode::phantom
