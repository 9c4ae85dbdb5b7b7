#pragma once
// A last check of the liver mask against the other phases, once they are aligned at full
// resolution: an in-plane piece of the mask apart from the slice's main liver cross-section is
// kept only if, in every other phase, it has the attenuation of the liver in that phase. The
// wall of the stomach or of a bowel loop can match the liver in one phase and be joined to it
// through a neighbouring slice; it enhances on another schedule, and shows it in another phase.
#include <cstddef>
#include <vector>

#include "lesion_detection.h"
#include "livernode/processing/image.h"

namespace livernode::processing::detail {

// Removes such pieces (then keeps the largest connected part); returns the voxels removed.
std::size_t drop_islands_unlike_the_liver(LabelMap& liver, const std::vector<AlignedPhase>& phases,
                                          std::size_t reference_phase);

}  // namespace livernode::processing::detail
