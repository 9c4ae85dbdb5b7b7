#pragma once
// A first look at an abdominal CT volume: a smoothed coarse copy, the body, the spine and the
// aorta, and the attenuation of the soft tissue that dominates the right upper quadrant.
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct AbdomenSurvey {
  Volume coarse;                  // ~2 mm in-plane, Gaussian-smoothed HU
  LabelMap body;                  // on the coarse grid
  double body_centre_x = 0.0;     // LPS mm (patient left is +x)
  double body_centre_y = 0.0;     // LPS mm (posterior is +y)
  std::optional<double> spine_x;  // median over slices, LPS mm
  std::optional<double> spine_anterior_y;
  std::optional<double> aorta_hu;                      // median over slices of the aortic lumen
  std::optional<double> right_upper_quadrant_mode_hu;  // most common soft-tissue HU there
  bool axial = false;                                  // slice normal along the patient's z axis
  // The body region, so that a series of any coverage (chest to pelvis, pelvis upwards) puts
  // the liver under the right hemidiaphragm: the right lung's base is the most caudal level
  // (LPS z, mm; superior is +z) at which the right lung still has a cross-section of 10 cm²,
  // absent when the series shows no lung. The liver is looked for within a craniocaudal band
  // around it (or below the top of the series when there is no lung).
  std::optional<double> right_lung_base_z;
  double liver_band_low_z = -1e9, liver_band_high_z = 1e9;
  std::string region_note;  // how the band was placed, for the report
};

AbdomenSurvey survey_abdomen(const Volume& volume);

// Smoothed coarse copy of a volume (block average, then Gaussian), ~target_mm in-plane.
Volume coarse_smoothed(const Volume& volume, double target_mm);

}  // namespace livernode::processing::detail
