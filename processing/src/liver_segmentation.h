#pragma once
#include <optional>
#include <string>
#include <vector>

#include "abdomen_survey.h"
#include "livernode/processing/image.h"
#include "livernode/processing/liver_atlas.h"

namespace livernode::processing::detail {

struct LiverSegmentation {
  LabelMap mask;  // grid of the input volume (of survey.coarse without full resolution)
  double volume_ml = 0.0;
  double mean_hu = 0.0;
  double window_low_hu = 0.0, window_high_hu = 0.0;  // parenchyma window used
  std::string failure;                               // non-empty when no liver was found
  std::string location_prior;  // how the atlas bounded the search, or why it could not
};

// Intensity window around the right-upper-quadrant parenchyma, opening to cut the liver free of
// its neighbours, the right-sided component kept, closing and hole filling to take in vessels and
// lesions, then the boundary re-decided at full resolution.
// Another phase of the same examination, aligned onto the survey's coarse grid, with the
// parenchyma window of that phase.
struct SupportingPhase {
  Volume aligned;  // on survey.coarse's grid; values below -1000 mean "no data"
  double window_low_hu = 0.0, window_high_hu = 0.0;
};

// With supporting phases a voxel must look like liver in every phase, and regions that differ
// from the liver in any phase stay out. With a non-empty atlas (and a frame measurable on the
// study) the window is kept where the atlas gives the liver a chance.
LiverSegmentation segment_liver(const Volume& volume, const AbdomenSurvey& survey,
                                const std::vector<SupportingPhase>& supporting = {},
                                bool full_resolution = true, const LiverAtlas* atlas = nullptr);

// The parts of a liver region that a ball of 10 mm does not fit in (a stomach wall, bowel loop or
// muscle strip flooded into the region with the liver), each connected part dropped where the
// atlas' probability `prior` (same grid) is on average under 4 %, as a neighbouring region is.
void drop_unlikely_thin_parts(LabelMap& liver, const Volume& prior);

}  // namespace livernode::processing::detail
