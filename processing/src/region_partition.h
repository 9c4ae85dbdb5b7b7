#pragma once
// Splits a binary mask into regions at its necks: markers are the components of the mask eroded
// by a radius, and every mask voxel joins the marker it is reached from first when flooding the
// inside distance map from its maxima (marker-controlled watershed). Organs of similar
// attenuation that touch through narrow or partial contacts end up in different regions.
#include <cstdint>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct RegionPartition {
  Image<std::uint32_t> labels;  // 0 outside the mask, else region number (1-based)
  std::size_t region_count = 0;
};

RegionPartition partition_at_necks(const LabelMap& mask, double marker_radius_mm);

// Statistics of each region of a partition, with values sampled from any volume in the same
// patient space (nearest voxel; points outside the volume are skipped).
struct RegionStats {
  std::size_t voxels = 0;
  double volume_ml = 0.0;
  Vec3 centroid{};      // LPS mm
  double median = 0.0;  // of the sampled values
  std::size_t sampled = 0;
};
std::vector<RegionStats> region_stats(const RegionPartition& partition, const Volume& values);

// Pairs of regions that touch (6-connectivity), as an adjacency list indexed by region number.
std::vector<std::vector<std::uint32_t>> region_adjacency(const RegionPartition& partition);

}  // namespace livernode::processing::detail
