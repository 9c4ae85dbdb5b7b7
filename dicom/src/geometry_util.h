#pragma once
// Vector arithmetic on patient coordinates for the scanner and the loader.
#include <array>
#include <cmath>

#include "livernode/processing/image.h"

namespace livernode::dicom::detail {

using processing::Vec3;

inline double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
inline Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
inline Vec3 sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
inline double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }

// Normalises both direction cosines of an ImageOrientationPatient and checks they are
// perpendicular; false when they are degenerate.
inline bool orthonormalise(std::array<double, 6>& o) {
  Vec3 r{o[0], o[1], o[2]}, c{o[3], o[4], o[5]};
  const double nr = norm(r), nc = norm(c);
  if (nr < 1e-6 || nc < 1e-6) return false;
  for (int i = 0; i < 3; ++i) {
    r[i] /= nr;
    c[i] /= nc;
  }
  if (std::abs(dot(r, c)) > 0.01) return false;
  for (int i = 0; i < 3; ++i) {
    o[i] = r[i];
    o[3 + i] = c[i];
  }
  return true;
}

}  // namespace livernode::dicom::detail
