#pragma once
// The geometric rule that turns Couinaud landmarks into a segment number. The analysis applies
// it with the landmarks it found in the images; the test phantom applies it with the landmarks
// it was built from, which makes its segment truth.
#include <array>

#include "livernode/processing/image.h"

namespace livernode::processing {

struct CouinaudPlanes {
  double ivc_x = 0.0, ivc_y = 0.0;  // vertical axis of the IVC (LPS mm)
  double portal_z = 0.0;            // horizontal plane of the portal bifurcation
  // Azimuths (degrees, atan2(y - ivc_y, x - ivc_x)) of the right, middle and left hepatic veins
  // seen from the IVC axis.
  std::array<double, 3> vein_azimuth_deg{};
  // Caudate: liver within caudate_anterior_mm in front of the IVC axis, between
  // caudate_right_mm right and caudate_left_mm left of it, from portal_z - 10 mm to caudate_top_z.
  double caudate_top_z = 0.0;
  double caudate_anterior_mm = 30.0;
  double caudate_right_mm = 12.0;
  double caudate_left_mm = 45.0;
};

// Segment 1..8 (I..VIII) of a liver point:
//   caudate box -> I;
//   the vertical half-planes from the IVC axis along each vein split the directions around the
//   axis into four sectors: beyond the right vein (posterior right: VII above the portal plane,
//   VI below), right-middle (anterior right: VIII / V), middle-left (IV), beyond the left vein
//   (left lateral: II / III).
int couinaud_segment_at(const CouinaudPlanes& planes, const Vec3& p);

}  // namespace livernode::processing
