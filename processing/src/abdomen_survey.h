#pragma once
// A first look at an abdominal CT volume: a smoothed coarse copy, the body, the spine and the
// aorta, and the attenuation of the soft tissue that dominates the right upper quadrant.
#include <optional>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct AbdomenSurvey {
  Volume coarse;          // ~2 mm in-plane, Gaussian-smoothed HU
  LabelMap body;          // on the coarse grid
  double body_centre_x = 0.0;   // LPS mm (patient left is +x)
  double body_centre_y = 0.0;   // LPS mm (posterior is +y)
  std::optional<double> spine_x;  // median over slices, LPS mm
  std::optional<double> spine_anterior_y;
  std::optional<double> aorta_hu;      // median over slices of the aortic lumen
  std::optional<double> right_upper_quadrant_mode_hu;  // most common soft-tissue HU there
  bool axial = false;     // slice normal along the patient's z axis
};

AbdomenSurvey survey_abdomen(const Volume& volume);

// Smoothed coarse copy of a volume (block average, then Gaussian), ~target_mm in-plane.
Volume coarse_smoothed(const Volume& volume, double target_mm);

}  // namespace livernode::processing::detail
