#include "liver.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace livernode::phantom {

namespace {
// Right lobe: centre and semi-axes (mm).
const Vec3 kRightCentre{-68.0, -2.0, -2.0};
const Vec3 kRightSemi{72.0, 80.0, 76.0};
// Left lobe before scaling, and the x of its attachment to the right lobe (scaling anchor).
const Vec3 kLeftCentre{10.0, -42.0, 30.0};
const Vec3 kLeftSemi{82.0, 44.0, 34.0};
constexpr double kLeftAnchorX = -30.0;
constexpr double kLeftTaper = 0.5;   // thickness at the lateral tip relative to the centre
constexpr double kBlend = 0.3;       // smooth-union width (normalised units)
constexpr double kWallMargin = 3.0;  // mm kept free inside the muscle wall
// Porta hepatis: a fossa on the visceral surface where the portal vein enters.
const Vec3 kHilumCentre{-15.0, -10.0, -42.0};
const Vec3 kHilumSemi{25.0, 20.0, 22.0};
}  // namespace

Liver::Liver(const Torso& torso, double left_lobe_volume_factor)
    : torso_(torso),
      right_lobe_(kRightCentre, kRightSemi),
      hilum_(kHilumCentre, kHilumSemi),
      scale_(std::cbrt(left_lobe_volume_factor)) {
  if (!(left_lobe_volume_factor > 0.0)) throw std::invalid_argument("Liver: growth must be > 0");
  left_centre_ = map_left_lobe_point(kLeftCentre);
  left_semi_ = {kLeftSemi[0] * scale_, kLeftSemi[1] * scale_, kLeftSemi[2] * scale_};
  bounds_ = right_lobe_.bounds();
  bounds_.include(Box::around(left_centre_, left_semi_).expanded(10.0));  // blend margin
}

Vec3 Liver::map_left_lobe_point(const Vec3& p) const {
  return {kLeftAnchorX + (p[0] - kLeftAnchorX) * scale_,
          kLeftCentre[1] + (p[1] - kLeftCentre[1]) * scale_,
          kLeftCentre[2] + (p[2] - kLeftCentre[2]) * scale_};
}

double Liver::left_lobe_implicit(const Vec3& p) const {
  // Ellipsoid whose y and z semi-axes shrink linearly towards the lateral (left) tip.
  const double qx = (p[0] - left_centre_[0]) / left_semi_[0];
  const double taper = 1.0 - (1.0 - kLeftTaper) * std::clamp(qx, 0.0, 1.0);
  const double qy = (p[1] - left_centre_[1]) / (left_semi_[1] * taper);
  const double qz = (p[2] - left_centre_[2]) / (left_semi_[2] * taper);
  return std::sqrt(qx * qx + qy * qy + qz * qz) - 1.0;
}

double Liver::inferior_z(double x, double y) {
  // Visceral surface: lowest at the right lateral tip, rising medially and posteriorly, and
  // curved (rising anteriorly and posteriorly away from y = -20).
  const double v = y + 20.0;
  return -80.0 + 0.35 * (x + 120.0) + 0.2 * y + 0.003 * v * v;
}

bool Liver::contains(const Vec3& p) const {
  if (!bounds_.contains(p)) return false;
  if (p[2] < inferior_z(p[0], p[1])) return false;
  if (!torso_.inside_cavity(p, kWallMargin)) return false;
  if (p[2] > torso_.diaphragm_z(p[0], p[1]) - Torso::kDiaphragmThickness) return false;
  // Posterior to the IVC and left of it the liver stops (the IVC lies in a groove there).
  if (p[1] > 0.0 && p[0] + p[1] > 0.0) return false;
  if (hilum_.contains(p)) return false;
  return smooth_min(right_lobe_.implicit(p), left_lobe_implicit(p), kBlend) <= 0.0;
}

}  // namespace livernode::phantom
