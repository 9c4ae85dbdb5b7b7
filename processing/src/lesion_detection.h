#pragma once
// Focal liver lesions from every available contrast phase, aligned onto the reference series:
// hypodense in the reference (portal venous or delayed) phase, or hyperenhancing in the arterial
// phase; bright tubes (vessels) kept out; each lesion measured (volume, RECIST diameters, HU and
// enhancement per phase) and typed by its enhancement pattern.
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/analysis.h"
#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct AlignedPhase {
  Phase phase = Phase::kUnknown;
  std::string series_uid;
  Volume volume;  // resampled onto the reference grid; below -1500 = no data
};

struct LesionDetection {
  std::vector<LesionResult> lesions;  // largest first, numbered from 1
  LabelMap labels;                    // reference grid; voxel = lesion number
  std::string method;
  std::vector<std::string> notes;  // candidates left out and why (vessel-like, at the surface)
};

// Where the spine is (LPS mm), when the survey found it: the retrohepatic inferior vena cava lies
// just in front of it and right of the midline.
struct SpineLandmarks {
  std::optional<double> x;
  std::optional<double> anterior_y;
};

// `reference` is one of `phases` (the one on whose grid everything lies). `cava_lumen`, on the
// reference grid, where the inferior vena cava was traced in any phase (none when not given).
LesionDetection detect_lesions(const std::vector<AlignedPhase>& phases, std::size_t reference,
                               const LabelMap& liver, const SpineLandmarks& spine = {},
                               const LabelMap* cava_lumen = nullptr);

// Lesions given as masks (drawn by hand), measured like detected ones: volume, RECIST
// diameters, HU and enhancement per phase, type. Numbered largest first; empty masks are left
// out.
LesionDetection measure_given_lesions(const std::vector<AlignedPhase>& phases,
                                      std::size_t reference, const LabelMap& liver,
                                      const std::vector<LabelMap>& lesions);

}  // namespace livernode::processing::detail
