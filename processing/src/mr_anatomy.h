#pragma once
// Where things lie in an axial MR volume, from its body mask: the body's extent per slice and the
// right upper quadrant, and the most common signal of a region (MR has no fixed scale, so tissue
// is found by the mode of its signal relative to a reference tissue).
#include <cstddef>
#include <optional>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

// LPS x of each column and y of each row of a grid.
std::vector<double> column_x(const Geometry& g);
std::vector<double> row_y(const Geometry& g);

// Body extent of one axial slice (LPS mm); a trunk slice is at least 15 x 10 cm.
struct SliceExtent {
  bool trunk = false;
  double min_x = 0, max_x = 0, min_y = 0, max_y = 0;
  double centre_x() const { return 0.5 * (min_x + max_x); }
  double centre_y() const { return 0.5 * (min_y + max_y); }
};
std::vector<SliceExtent> slice_extents(const LabelMap& body);

// The back muscles reach this far in front of the skin of the back.
constexpr double kMrBackMusclesDepthMm = 70.0;

// The right upper quadrant of the trunk slices: body voxels patient right of the midline by
// 1.5 cm, in front of the back muscles.
LabelMap right_upper_quadrant(const LabelMap& body);

// The most common value of `v` in `where`, in bins of 0.02 from 0.4 (`bins` of them), each bin
// counted with half of each neighbour; nullopt when no voxel falls in a bin.
std::optional<double> signal_mode(const Volume& v, const LabelMap& where, std::size_t bins);

}  // namespace livernode::processing::detail
