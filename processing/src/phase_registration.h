#pragma once
// Alignment of one contrast phase onto another of the same examination. Breathing moves the
// liver between phases (mostly head to foot, up to a few centimetres); a translation found by
// Mattes mutual information (the phases differ in contrast, not in anatomy) over the liver
// region removes most of it.
#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct PhaseAlignment {
  bool converged = false;
  Vec3 translation_mm{};         // fixed point + translation = corresponding moving point
  double metric_before = 0.0;    // Mattes MI (lower is better), identity
  double metric_after = 0.0;     // at the found translation
  unsigned iterations = 0;
};

// `fixed_region` (on the fixed grid, may be empty) restricts the metric to the organ of interest.
PhaseAlignment align_translation(const Volume& fixed, const Volume& moving,
                                 const LabelMap& fixed_region);

// `moving` sampled on `target` through the translation (linear; `outside` beyond its extent).
Volume resample_translated(const Volume& moving, const Geometry& target, const Vec3& translation,
                           float outside);

}  // namespace livernode::processing::detail
