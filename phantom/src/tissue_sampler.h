#pragma once
// Samples the anatomy on a voxel grid: the tissue at every voxel centre, and for voxels near a
// boundary (a 26-neighbour with a different boundary class) the tissue composition over a
// regular s x s x s grid of sub-points, which gives partial-volume averages and fine volume
// integrals without sub-sampling homogeneous regions.
#include <array>
#include <cstdint>
#include <vector>

#include "anatomy.h"
#include "livernode/processing/image.h"

namespace livernode::phantom {

struct MixEntry {
  TissueCode tissue;
  std::uint8_t count;  // number of sub-points of this tissue
};

struct TissueSamples {
  static constexpr std::uint32_t kPure = 0xFFFFFFFFu;

  processing::Geometry geometry;
  int subsamples = 1;                    // per axis
  std::vector<TissueCode> centre;        // tissue at each voxel centre (i fastest)
  std::vector<std::uint32_t> mix;        // per voxel: kPure or index m of its composition
  std::vector<std::uint32_t> mix_start;  // composition m is entries[mix_start[m] .. mix_start[m+1])
  std::vector<MixEntry> entries;

  std::size_t mixed_count() const { return mix_start.empty() ? 0 : mix_start.size() - 1; }
};

// Maps tissue codes to classes; voxels next to a class change are sub-sampled.
using BoundaryClasses = std::array<std::uint8_t, 256>;
BoundaryClasses every_tissue_is_a_class();

// `geometry` must be axis-aligned (identity direction). The anatomy is displaced by `shift`
// (tissue at point w is the anatomy's tissue at w - shift). 1 <= subsamples <= 6.
TissueSamples sample_tissues(const Anatomy& anatomy, const processing::Geometry& geometry,
                             const Vec3& shift, int subsamples, const BoundaryClasses& classes);

}  // namespace livernode::phantom
