#pragma once
// Binary mask operations in millimetres (anisotropic spacing respected), on plain LabelMaps
// whose non-zero voxels are "inside".
#include <cstdint>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

LabelMap erode_mm(const LabelMap& mask, double radius_mm);
// The erosions of one mask by several radii, from one distance map (each the same as erode_mm).
std::vector<LabelMap> erode_mm(const LabelMap& mask, const std::vector<double>& radii_mm);
LabelMap dilate_mm(const LabelMap& mask, double radius_mm);
// The dilations of one mask by several radii, from one distance map (each the same as dilate_mm).
std::vector<LabelMap> dilate_mm(const LabelMap& mask, const std::vector<double>& radii_mm);
// Connected components (26-connectivity); labels ordered by size, largest = 1; 0 background.
Image<std::uint32_t> connected_components(const LabelMap& mask, std::vector<std::size_t>* sizes);
// The 4-connected components of one axial plane (nx x ny, non-zero = inside), each as its
// in-plane offsets (j * nx + i).
std::vector<std::vector<std::size_t>> plane_components(const std::uint8_t* plane, std::size_t nx,
                                                       std::size_t ny);
// Fills holes in every axial (k) slice: background not reachable from the slice border.
void fill_holes_per_slice(LabelMap& mask);
std::size_t count(const LabelMap& mask);
// Nearest-neighbour resampling of a mask onto another grid (same physical space).
LabelMap resample_nearest(const LabelMap& mask, const Geometry& target);
// Gaussian smoothing with a sigma in millimetres (recursive, anisotropic spacing respected).
Volume gaussian_mm(const Volume& image, double sigma_mm);
// Linear resampling of an image onto another grid; `outside` where the source has no data.
Volume resample_linear(const Volume& image, const Geometry& target, float outside);

}  // namespace livernode::processing::detail
