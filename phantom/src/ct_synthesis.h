#pragma once
// Turns sampled tissues into CT numbers for one phase: partial-volume mean of the tissue HU over
// the sub-points (tissue_synthesis.h), plus Gaussian noise.
#include <array>
#include <cstdint>
#include <vector>

#include "lesions.h"
#include "random.h"
#include "tissue_synthesis.h"

namespace livernode::phantom {

inline constexpr double kNoiseSigmaHu = 10.0;

// HU of every tissue code in `phase` (lesion k takes its type's value).
CodeTable phase_hu_table(Phase phase, const std::vector<Lesion>& lesions);

// Slice k in stored order (i fastest): mean HU (plus `excess` where given) + sigma * N(0,1)
// from `noise`, rounded and clamped to [-1024, 3071].
void synthesise_slice(const TissueSamples& samples, std::size_t k, const CodeTable& hu,
                      Random& noise, double sigma, std::vector<std::int16_t>& out,
                      const RegionalExcess* excess = nullptr);

}  // namespace livernode::phantom
