#include "image_geometry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace livernode::phantom {

namespace {

constexpr double kMarginMm = 20.0;  // above the dome and below the inferior tip
constexpr double kMinimumLengthMm = 200.0;

// Lowest and highest z of the liver, sampled every 2 mm over its bounding box.
std::pair<double, double> liver_z_range(const Liver& liver) {
  const Box& b = liver.bounds();
  constexpr double kStep = 2.0;
  double lo = kUnbounded, hi = -kUnbounded;
  for (double z = b.lo[2]; z <= b.hi[2]; z += kStep) {
    for (double y = b.lo[1]; y <= b.hi[1]; y += kStep) {
      for (double x = b.lo[0]; x <= b.hi[0]; x += kStep) {
        if (liver.contains({x, y, z})) {
          lo = std::min(lo, z);
          hi = std::max(hi, z);
          break;
        }
      }
    }
  }
  if (lo > hi) throw std::logic_error("phantom liver is empty");
  return {lo - kStep, hi + kStep};
}

}  // namespace

processing::Geometry phantom_geometry(const PhantomOptions& options, const Anatomy& anatomy) {
  const auto [z_lo, z_hi] = liver_z_range(anatomy.liver());
  const double t = options.slice_thickness_mm;
  const std::size_t slices =
      options.slices > 0 ? options.slices
                         : static_cast<std::size_t>(std::ceil(
                               std::max(kMinimumLengthMm, z_hi - z_lo + 2 * kMarginMm) / t));
  const double z_centre = std::round(0.5 * (z_lo + z_hi) * 2.0) / 2.0;  // to 0.5 mm

  processing::Geometry g;
  g.size = {options.matrix, options.matrix, slices};
  g.spacing = {options.pixel_spacing_mm, options.pixel_spacing_mm, t};
  const double half_fov = 0.5 * static_cast<double>(options.matrix - 1) * options.pixel_spacing_mm;
  g.origin = {-half_fov, -half_fov, z_centre - 0.5 * static_cast<double>(slices - 1) * t};
  return g;
}

Box grid_extent(const processing::Geometry& g) {
  Box b;
  for (int a = 0; a < 3; ++a) {
    b.lo[a] = g.origin[a] - 0.5 * g.spacing[a];
    b.hi[a] = g.origin[a] + (static_cast<double>(g.size[a]) - 0.5) * g.spacing[a];
  }
  return b;
}

}  // namespace livernode::phantom
