#pragma once
// True structure volumes, integrated from the analytic anatomy (not from any label map): the
// region is covered by ~2 mm cells whose centres are classified; cells next to a change of
// truth label are refined to 4 x 4 x 4 sub-points (0.5 mm), the others count whole.
#include <cstdint>
#include <map>

#include "anatomy.h"

namespace livernode::phantom {

// Volume in mL per truth label (labels:: values) inside `region` (unshifted anatomy). Labels 0
// (air) and 9 (other body) are not resolved and not reported.
std::map<std::uint8_t, double> integrate_label_volumes(const Anatomy& anatomy, const Box& region);

}  // namespace livernode::phantom
