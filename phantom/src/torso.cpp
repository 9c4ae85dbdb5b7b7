#include "torso.h"

#include <algorithm>
#include <cmath>

namespace livernode::phantom {

namespace {

// One dome of the diaphragm: apex height `top` at (xc, 5), falling off quadratically, faster
// posteriorly (the posterior costophrenic recess reaches lower than the anterior one).
double dome(double x, double y, double xc, double top) {
  const double u = (x - xc) / 85.0;
  const double v = (y - 5.0) / (y < 5.0 ? 105.0 : 75.0);
  return top - 55.0 * (u * u + v * v);
}

}  // namespace

double Torso::diaphragm_z(double x, double y) const {
  // Right dome (over the liver) higher than the left dome.
  return std::max(dome(x, y, -65.0, 78.0), dome(x, y, 65.0, 68.0));
}

Tissue Torso::background_tissue(const Vec3& p) const {
  if (ellipse(p, kFatInnerA, kFatInnerB, 0.0) > 1.0) return Tissue::SubcutaneousFat;
  if (!inside_cavity(p)) return Tissue::Muscle;
  const double zd = diaphragm_z(p[0], p[1]);
  if (p[2] > zd) {
    const bool mediastinum = std::abs(p[0] - 5.0) < 30.0 && p[1] < 25.0;
    return mediastinum ? Tissue::VisceralFat : Tissue::Lung;
  }
  if (p[2] > zd - kDiaphragmThickness) return Tissue::Muscle;
  return Tissue::VisceralFat;
}

Box Torso::body_bounds() const {
  return Box{{-kSkinA, -kSkinB, -kUnbounded}, {kSkinA, kSkinB, kUnbounded}};
}

}  // namespace livernode::phantom
