#pragma once
// Couinaud segment truth of the phantom: processing::couinaud_segment_at applied with the
// landmarks the anatomy is built from (vessel_paths.h) to every liver voxel of a truth label map.
#include <array>
#include <string>

#include "livernode/processing/couinaud_planes.h"
#include "livernode/processing/image.h"

namespace livernode::phantom {

// IVC axis where it receives the hepatic veins (z = 45 mm); each vein's azimuth from the mean
// direction of its second and third centre-line points; portal plane at the mean height of the
// right portal vein; caudate up to half way between the portal plane and the vein confluence.
processing::CouinaudPlanes couinaud_truth_planes();

// Segment 1..8 for every liver voxel (parenchyma, intrahepatic vessels, lesions) of `labels`
// (a truth label map of the unshifted anatomy), 0 elsewhere.
processing::LabelMap couinaud_truth_labels(const processing::LabelMap& labels);

// Volume per segment (index 1..8) as voxel count x voxel volume.
std::array<double, 9> segment_volumes_ml(const processing::LabelMap& segments);

}  // namespace livernode::phantom
