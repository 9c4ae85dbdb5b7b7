#pragma once
// The liver as an implicit solid: a large right lobe (ellipsoid) smoothly blended with a left
// lobe that crosses the midline and tapers towards the patient's left, cut by the diaphragm
// dome above (the liver dome sits under it), by a sloping visceral (inferior) surface below, by
// a posterior-medial plane (the IVC groove) and the porta hepatis fossa, and kept a few
// millimetres inside the abdominal wall.
#include "shapes.h"
#include "torso.h"

namespace livernode::phantom {

class Liver final : public Solid {
 public:
  // left_lobe_volume_factor scales the left lobe's volume (remnant growth at follow-up).
  Liver(const Torso& torso, double left_lobe_volume_factor);
  bool contains(const Vec3& p) const override;

  // Where a point given in the unscaled left lobe ends up after the remnant-growth scaling.
  Vec3 map_left_lobe_point(const Vec3& p) const;

 private:
  double left_lobe_implicit(const Vec3& p) const;
  static double inferior_z(double x, double y);

  Torso torso_;
  Ellipsoid right_lobe_;
  Ellipsoid hilum_;   // porta hepatis fossa, carved out
  double scale_;      // linear scale of the left lobe
  Vec3 left_centre_;  // after scaling
  Vec3 left_semi_;    // after scaling
};

}  // namespace livernode::phantom
