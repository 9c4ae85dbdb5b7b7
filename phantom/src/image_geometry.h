#pragma once
// The voxel grid of every series: axial, identity direction, centred on the body in-plane and on
// the liver's craniocaudal extent (found by sampling the analytic liver), at least 200 mm long.
#include "anatomy.h"
#include "livernode/phantom/phantom.h"
#include "livernode/processing/image.h"

namespace livernode::phantom {

processing::Geometry phantom_geometry(const PhantomOptions& options, const Anatomy& anatomy);

// The box covered by the grid's voxels (centres +- half a voxel).
Box grid_extent(const processing::Geometry& geometry);

}  // namespace livernode::phantom
