#pragma once
// Turns sampled tissues into CT numbers for one phase (partial-volume mean of the tissue HU over
// the sub-points, plus Gaussian noise) and into the truth label map (tissue at the voxel centre).
#include <array>
#include <cstdint>
#include <vector>

#include "lesions.h"
#include "livernode/processing/image.h"
#include "random.h"
#include "tissue_sampler.h"

namespace livernode::phantom {

inline constexpr double kNoiseSigmaHu = 10.0;

// HU of every tissue code in `phase` (lesion k takes its type's value).
std::array<float, 256> phase_hu_table(Phase phase, const std::vector<Lesion>& lesions);

// A smooth excess of one tissue's HU: amplitude * exp(-r^2 / (2 sigma^2)) around a centre given
// in the unshifted anatomy, applied to that tissue's share of each voxel.
struct RegionalExcess {
  TissueCode tissue = 0;
  Vec3 centre{};
  double sigma_mm = 1.0;
  double amplitude_hu = 0.0;
  Vec3 shift{};  // the phase's shift of the anatomy
};

// Slice k in stored order (i fastest): mean HU (plus `excess` where given) + sigma * N(0,1)
// from `noise`, rounded and clamped to [-1024, 3071].
void synthesise_slice(const TissueSamples& samples, std::size_t k, const std::array<float, 256>& hu,
                      Random& noise, double sigma, std::vector<std::int16_t>& out,
                      const RegionalExcess* excess = nullptr);

// Truth label map: the label of the tissue at each voxel centre.
processing::LabelMap truth_labels(const TissueSamples& samples);

}  // namespace livernode::phantom
