#include "livernode/processing/image.h"

#include <cmath>

namespace livernode::processing {

Vec3 Geometry::index_to_point(double i, double j, double k) const {
  const double s[3] = {i * spacing[0], j * spacing[1], k * spacing[2]};
  Vec3 p = origin;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) p[r] += direction[r * 3 + c] * s[c];
  }
  return p;
}

Vec3 Geometry::point_to_index(const Vec3& p) const {
  const double d[3] = {p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]};
  Vec3 idx{};
  for (int c = 0; c < 3; ++c) {
    double s = 0.0;
    for (int r = 0; r < 3; ++r) s += direction[r * 3 + c] * d[r];  // transpose = inverse
    idx[c] = s / spacing[c];
  }
  return idx;
}

bool Geometry::same_grid(const Geometry& other, double tolerance_mm) const {
  if (size != other.size) return false;
  for (int a = 0; a < 3; ++a) {
    if (std::abs(spacing[a] - other.spacing[a]) > tolerance_mm) return false;
    if (std::abs(origin[a] - other.origin[a]) > tolerance_mm) return false;
  }
  for (int e = 0; e < 9; ++e) {
    if (std::abs(direction[e] - other.direction[e]) > 1e-4) return false;
  }
  return true;
}

}  // namespace livernode::processing
