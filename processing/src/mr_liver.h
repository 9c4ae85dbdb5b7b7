#pragma once
// The liver on one normalised MR time point (signal relative to paraspinal muscle, bias
// corrected): the parenchyma's signal band around the most common signal of the right upper
// quadrant, split from touching organs by an opening, the vessels and lesions inside it taken in
// by closing and hole filling, the boundary refined at full resolution.
#include <string>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct MrLiver {
  LabelMap mask;        // on the full grid of the input; empty on failure
  std::string method;   // for the report
  std::string failure;  // why there is no liver
};

// `normalised`: the reference time point (full grid); `coarse`: the same smoothed on a ~2.5 mm
// grid; `supporting`: the other time points aligned onto that coarse grid. A voxel is
// parenchyma-like when it lies in the parenchyma's band on the reference and near the liver's own
// signal of every supporting time point (the liver's neighbours differ from it in some phase:
// the spleen before contrast and in the arterial phase, bowel wall before contrast).
MrLiver segment_liver_mr(const Volume& normalised, const Volume& coarse,
                         const std::vector<Volume>& supporting);

}  // namespace livernode::processing::detail
