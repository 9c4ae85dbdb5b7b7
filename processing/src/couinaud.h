#pragma once
// Couinaud segments I-VIII on the reference series, from the patient's own landmarks: the IVC,
// the right, middle and left hepatic veins near the dome and the level of the portal
// bifurcation. Classical geometry, no atlas and no learning:
//   - vessels: voxels brighter than the parenchyma (median + max(15, 3 SD of the 3x3 in-plane
//     mean) HU after that mean) inside the liver;
//   - IVC: the most posterior bright tube right of the spine touching the upper liver (median
//     centre over the slices of the upper band where its cross-section is a plain tube, not
//     merged with the vein mouths); it is the vertical axis of the planes;
//   - hepatic veins: the three strongest directions (azimuth histogram around the IVC axis) of
//     the vessel voxels in the upper band of the liver, sorted from right to left;
//   - portal plane: the horizontal plane at the level where the intrahepatic vessel cross-section
//     near the hilum is largest (the right and left portal branches run in-plane there);
//   - segments: vertical half-planes through the IVC axis and each hepatic vein split the liver
//     into the posterior right section (VI/VII), the anterior right section (V/VIII), segment IV
//     and the left lateral section (II/III); the portal plane splits superior from inferior;
//     the caudate (I) is the liver between the IVC and the portal bifurcation.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ivc_tracking.h"
#include "livernode/processing/couinaud_planes.h"
#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct CouinaudSegmentation {
  LabelMap segments;            // reference grid; 1..8 = segment I..VIII, 0 outside the liver
  Vec3 ivc_lps{};               // a point of the IVC axis (x, y; z at the middle of the band)
  double portal_plane_z = 0.0;  // LPS mm
  std::array<double, 3> vein_azimuth_deg{};  // right, middle, left hepatic vein
  std::string method;
  std::vector<std::string> notes;  // landmarks that needed a fallback
  std::string failure;             // non-empty: no segments
};

// `liver`: 1 = liver (lesions included), on `ct`'s grid. spine_x: LPS x of the spine if known.
// `ivc`: the IVC traced beforehand in the best phase (track_ivc); when it has slices the axis
// comes from it, else from the series itself.
CouinaudSegmentation segment_couinaud(const Volume& ct, const LabelMap& liver,
                                      std::optional<double> spine_x,
                                      std::optional<double> spine_anterior_y,
                                      const IvcTrack* ivc = nullptr,
                                      const std::string& unit = "HU");

}  // namespace livernode::processing::detail
