#include "mr_anatomy.h"

#include <algorithm>
#include <cmath>

namespace livernode::processing::detail {

std::vector<double> column_x(const Geometry& g) {
  std::vector<double> xs(g.size[0]);
  for (std::size_t i = 0; i < g.size[0]; ++i) xs[i] = g.index_to_point(double(i), 0, 0)[0];
  return xs;
}

std::vector<double> row_y(const Geometry& g) {
  std::vector<double> ys(g.size[1]);
  for (std::size_t j = 0; j < g.size[1]; ++j) ys[j] = g.index_to_point(0, double(j), 0)[1];
  return ys;
}

std::vector<SliceExtent> slice_extents(const LabelMap& body) {
  const Geometry& g = body.geometry;
  const auto xs = column_x(g), ys = row_y(g);
  std::vector<SliceExtent> out(g.size[2]);
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    SliceExtent e;
    e.min_x = e.min_y = 1e9;
    e.max_x = e.max_y = -1e9;
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (body.at(i, j, k)) {
          e.min_x = std::min(e.min_x, xs[i]);
          e.max_x = std::max(e.max_x, xs[i]);
          e.min_y = std::min(e.min_y, ys[j]);
          e.max_y = std::max(e.max_y, ys[j]);
        }
    e.trunk = e.max_x - e.min_x >= 150.0 && e.max_y - e.min_y >= 100.0;
    out[k] = e;
  }
  return out;
}

LabelMap right_upper_quadrant(const LabelMap& body) {
  const Geometry& g = body.geometry;
  const auto xs = column_x(g), ys = row_y(g);
  const auto extents = slice_extents(body);
  LabelMap quadrant(g, 0);
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    const SliceExtent& e = extents[k];
    if (!e.trunk) continue;
    for (std::size_t j = 0; j < g.size[1]; ++j) {
      if (e.max_y - ys[j] < kMrBackMusclesDepthMm) continue;
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (xs[i] <= e.centre_x() - 15.0 && body.at(i, j, k)) quadrant.at(i, j, k) = 1;
    }
  }
  return quadrant;
}

std::optional<double> signal_mode(const Volume& v, const LabelMap& where, std::size_t bins) {
  constexpr double kBin = 0.02, kLow = 0.4;
  std::vector<double> histogram(bins, 0.0);
  for (std::size_t p = 0; p < v.voxels.size(); ++p) {
    if (!where.voxels[p]) continue;
    const long b = std::lround((v.voxels[p] - kLow) / kBin);
    if (b >= 0 && b < static_cast<long>(histogram.size())) histogram[b] += 1.0;
  }
  std::size_t best = 0;
  double best_count = 0.0;
  for (std::size_t b = 1; b + 1 < histogram.size(); ++b) {
    const double c = histogram[b] + 0.5 * (histogram[b - 1] + histogram[b + 1]);
    if (c > best_count) {
      best_count = c;
      best = b;
    }
  }
  if (best_count <= 0.0) return std::nullopt;
  return kLow + kBin * static_cast<double>(best);
}

}  // namespace livernode::processing::detail
