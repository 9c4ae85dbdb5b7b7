#pragma once
// Alignment of one contrast phase onto the reference phase of the same examination. Breathing
// moves and bends the liver between phases (mostly head to foot, up to a few centimetres):
// first a translation, then a coarse B-spline deformation, both found by Mattes mutual
// information (the phases differ in contrast, not in anatomy) over the liver region only.
#include <memory>
#include <string>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

// Maps points of the reference (fixed) phase to the moving phase. Cheap to copy.
class PhaseTransform {
 public:
  PhaseTransform();  // identity
  const Vec3& translation() const { return translation_; }
  bool deformable() const;
  // `moving` sampled on `target` (linear; `outside` beyond its extent).
  Volume resample(const Volume& moving, const Geometry& target, float outside) const;
  // A mask of the moving phase on `target` (nearest neighbour).
  LabelMap resample(const LabelMap& moving, const Geometry& target) const;

  struct Impl;

 private:
  friend struct PhaseAligner;
  Vec3 translation_{};
  std::shared_ptr<const Impl> impl_;
};

struct PhaseAlignment {
  PhaseTransform transform;
  bool translation_converged = false;
  bool deformable = false;       // the B-spline stage ran and improved the metric
  std::string deformable_note;   // why the B-spline stage was not kept, when it was not
  double metric_identity = 0.0;  // Mattes MI (lower is better)
  double metric_translation = 0.0;
  double metric_final = 0.0;
};

// `fixed_region` (on the fixed grid, may be empty) restricts the metric to the organ of
// interest; with `deformable` the translation is refined by a B-spline over that region.
PhaseAlignment align_phase(const Volume& fixed, const Volume& moving, const LabelMap& fixed_region,
                           bool deformable = true);

}  // namespace livernode::processing::detail
