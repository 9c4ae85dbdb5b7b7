#pragma once
// The liver atlas placed on a study (see livernode/processing/liver_atlas.h).
#include <optional>
#include <string>

#include "abdomen_survey.h"
#include "livernode/processing/liver_atlas.h"

namespace livernode::processing::detail {

// The atlas frame measured on a surveyed study: absent (with the reason) without a right lung
// or a spine in the series.
std::optional<AtlasFrame> measure_atlas_frame(const AbdomenSurvey& survey,
                                              std::string* why_not = nullptr);

// The atlas' probability of the liver at every voxel of `grid`.
Volume atlas_probability(const LiverAtlas& atlas, const AtlasFrame& frame, const Geometry& grid);

}  // namespace livernode::processing::detail
