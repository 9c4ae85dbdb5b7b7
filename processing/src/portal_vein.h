#pragma once
// The attenuation of the main portal vein: the largest bright structure at the liver hilum,
// outside the liver, right of the midline and well in front of the spine (the cava lies just in
// front of it).
#include <optional>

#include "abdomen_survey.h"
#include "livernode/processing/image.h"

namespace livernode::processing::detail {

// `liver` is the coarse liver mask on survey.coarse's grid; `liver_hu` its attenuation.
// Returns nothing when no vessel stands out there (e.g. without contrast).
std::optional<double> measure_portal_vein(const AbdomenSurvey& survey, const LabelMap& liver,
                                          double liver_hu);

}  // namespace livernode::processing::detail
