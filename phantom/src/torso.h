#pragma once
// The body outline and the diaphragm: three concentric elliptic cylinders (skin, inner border of
// the subcutaneous fat, inner border of the muscle wall = abdominal/thoracic cavity) and a
// double-dome diaphragm surface. Points of the body that no organ claims get their tissue here:
// subcutaneous fat, muscle wall, lung (above the diaphragm), diaphragm muscle, visceral fat.
#include "shapes.h"
#include "tissue.h"

namespace livernode::phantom {

class Torso {
 public:
  static constexpr double kDiaphragmThickness = 5.0;  // mm

  bool inside_body(const Vec3& p) const { return ellipse(p, kSkinA, kSkinB, 0.0) <= 1.0; }
  // Inside the cavity shrunk by `margin` mm.
  bool inside_cavity(const Vec3& p, double margin = 0.0) const {
    return ellipse(p, kCavityA, kCavityB, margin) <= 1.0;
  }
  // z of the upper surface of the diaphragm (the lung base) above (x, y).
  double diaphragm_z(double x, double y) const;
  bool below_diaphragm(const Vec3& p) const {
    return p[2] <= diaphragm_z(p[0], p[1]) - kDiaphragmThickness;
  }
  bool above_diaphragm(const Vec3& p) const { return p[2] > diaphragm_z(p[0], p[1]); }

  // Tissue of a body point that lies in no organ.
  Tissue background_tissue(const Vec3& p) const;

  // x/y extent of the body (z unbounded).
  Box body_bounds() const;
  // Centre line of the muscle wall (where the ribs run): semi-axes.
  double wall_mid_a() const { return 0.5 * (kFatInnerA + kCavityA); }
  double wall_mid_b() const { return 0.5 * (kFatInnerB + kCavityB); }

 private:
  static constexpr double kSkinA = 170.0, kSkinB = 125.0;          // 340 x 250 mm body
  static constexpr double kFatInnerA = 152.0, kFatInnerB = 107.0;  // subcutaneous fat inside
  static constexpr double kCavityA = 140.0, kCavityB = 96.0;       // muscle wall inside

  static double ellipse(const Vec3& p, double a, double b, double margin) {
    const double u = p[0] / (a - margin), v = p[1] / (b - margin);
    return u * u + v * v;
  }
};

}  // namespace livernode::phantom
