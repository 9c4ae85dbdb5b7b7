#pragma once
// Measures shared by the lesion detections of CT (lesion_detection.cpp) and MR (mr_lesions.cpp):
// a voxel set's neighbourhood on a small box, robust parenchyma statistics, elongation and the
// RECIST 1.1 axes.
#include <cstddef>
#include <vector>

#include "image_crop.h"
#include "livernode/processing/analysis.h"
#include "livernode/processing/image.h"
#include "mask_ops.h"

namespace livernode::processing::detail {

// A set of voxels (indices into grid g) on a small box around it, so that morphology near one
// candidate costs what the candidate costs, not what the liver costs.
class Neighbourhood {
 public:
  Neighbourhood(const Geometry& g, const std::vector<std::size_t>& vox, double margin_mm) : g_(g) {
    const std::size_t nx = g.size[0], nxy = g.size[0] * g.size[1];
    box_.lo = {g.size[0], g.size[1], g.size[2]};
    for (std::size_t p : vox) {
      const std::size_t idx[3] = {p % nx, (p / nx) % g.size[1], p / nxy};
      for (int a = 0; a < 3; ++a) {
        box_.lo[a] = std::min(box_.lo[a], idx[a]);
        box_.hi[a] = std::max(box_.hi[a], idx[a] + 1);
      }
    }
    for (int a = 0; a < 3; ++a) {
      const auto m = static_cast<std::size_t>(std::ceil(margin_mm / g.spacing[a])) + 1;
      box_.lo[a] = box_.lo[a] > m ? box_.lo[a] - m : 0;
      box_.hi[a] = std::min(g.size[a], box_.hi[a] + m);
    }
    Geometry lg = g;
    lg.origin = g.index_to_point(box_.lo[0], box_.lo[1], box_.lo[2]);
    for (int a = 0; a < 3; ++a) lg.size[a] = box_.hi[a] - box_.lo[a];
    mask_ = LabelMap(lg, 0);
    for (std::size_t p : vox) mask_.voxels[to_local(p)] = 1;
  }
  const LabelMap& mask() const { return mask_; }
  // An image of the whole grid cut down to this neighbourhood (indexed like mask()).
  Volume cut_out(const Volume& v) const { return crop(v, box_); }
  std::size_t to_local(std::size_t p) const {
    const std::size_t nx = g_.size[0], nxy = g_.size[0] * g_.size[1];
    return mask_.offset(p % nx - box_.lo[0], (p / nx) % g_.size[1] - box_.lo[1],
                        p / nxy - box_.lo[2]);
  }
  std::size_t to_global(std::size_t q) const {
    const auto& s = mask_.geometry.size;
    const std::size_t i = q % s[0], j = (q / s[0]) % s[1], k = q / (s[0] * s[1]);
    return g_.size[0] * (g_.size[1] * (k + box_.lo[2]) + j + box_.lo[1]) + i + box_.lo[0];
  }
  // Global indices of the non-zero voxels of a map on this neighbourhood's grid.
  std::vector<std::size_t> voxels(const LabelMap& local) const {
    std::vector<std::size_t> out;
    for (std::size_t q = 0; q < local.voxels.size(); ++q)
      if (local.voxels[q]) out.push_back(to_global(q));
    return out;
  }
  // Global indices of the voxels between `inner_mm` and `outer_mm` away from the set (the
  // neighbourhood's margin must reach `outer_mm`).
  std::vector<std::size_t> shell(double inner_mm, double outer_mm) const {
    const LabelMap outer = dilate_mm(mask_, outer_mm);
    const LabelMap inner = dilate_mm(mask_, inner_mm);
    std::vector<std::size_t> out;
    for (std::size_t q = 0; q < outer.voxels.size(); ++q)
      if (outer.voxels[q] && !inner.voxels[q]) out.push_back(to_global(q));
    return out;
  }

 private:
  const Geometry& g_;
  Box box_;
  LabelMap mask_;
};

struct Robust {
  double median = 0.0, sd = 0.0;  // sd from the median absolute deviation
};

// Median and robust SD (median absolute deviation) of `v` inside `mask`; voxels at or below
// -1500 are no data.
Robust robust_stats(const Volume& v, const LabelMap& mask);
// Mean (and SD) of `v` over `voxels`, no-data voxels skipped; NaN when none.
double mean_of(const Volume& v, const std::vector<std::size_t>& voxels, double* sd = nullptr);
double median_of(const Volume& v, const std::vector<std::size_t>& voxels);
// Ratio of the longest to the shortest principal axis of a voxel set (mm).
double elongation(const Geometry& g, const std::vector<std::size_t>& voxels);
// RECIST 1.1 on the axial slices: longest in-plane diameter and the short axis perpendicular to
// it on the same slice, with their end points, into `out`.
void measure_recist(const Geometry& g, const std::vector<std::size_t>& voxels, LesionResult& out);

// A lesion's boundary at half contrast, on CT and MR: the voxels of `within` not yet `taken`
// within kEdgeReachMm of the candidate `vox` whose value on `image` (lightly smoothed, by
// kEdgeSmoothingMm, around the lesion only, so that blur does not bias the edge) is closer to the
// lesion's own level (the median of its interior, in from its edge by `interior_mm`) than to the
// parenchyma's `around`. The edge may move kEdgeReachMm, and at least to the next voxel along
// each axis: across slices thicker than that, the slice above or below a candidate is where its
// edge lies as often as not. The result is then closed by kSolidClosingMm and its holes filled
// per slice, within `within`: a tumour's mosaic (necrosis, septa), the vessels crossing it and
// its capsule are the tumour. Voxels without data (at or below -1500) are never taken.
// With `keep_out` (voxels it never enters), the edge then moves on in further steps while the
// lesion goes on beyond it (see the definition): a candidate that was only part of its tumour
// is drawn whole, and one that was the end of a duct or fissure comes out flat.
constexpr double kEdgeSmoothingMm = 0.75;
constexpr double kEdgeReachMm = 3.0;
constexpr double kSolidClosingMm = 5.0;
constexpr int kGrowthSteps = 6;          // the first and up to 5 more: 15 mm beyond it
constexpr double kMinGrowthShare = 0.1;  // of the lesion, added by a step to go on
constexpr double kGrowthAwayFromSurfaceMm = 2.0;
constexpr double kGrowthSmoothingMm = 2.0;
constexpr double kGrowthRingMm = 8.0;  // the parenchyma around: 3-8 mm beyond the edge
std::vector<std::size_t> redraw_at_half_contrast(const Geometry& g,
                                                 const std::vector<std::size_t>& vox,
                                                 const Volume& image, double around,
                                                 double interior_mm, const LabelMap& within,
                                                 const LabelMap& taken,
                                                 const LabelMap* keep_out = nullptr);

}  // namespace livernode::processing::detail
