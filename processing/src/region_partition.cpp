#include "region_partition.h"

#include <itkMorphologicalWatershedFromMarkersImageFilter.h>
#include <itkSignedMaurerDistanceMapImageFilter.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "itk_bridge.h"
#include "mask_ops.h"

namespace livernode::processing::detail {

RegionPartition partition_at_necks(const LabelMap& mask, double marker_radius_mm) {
  RegionPartition out;
  out.labels = Image<std::uint32_t>(mask.geometry, 0);
  if (count(mask) == 0) return out;

  // Depth of every mask voxel (mm to the nearest background voxel), negated so that the
  // centres of the organs are the basins the flooding starts from.
  auto distance = itk::SignedMaurerDistanceMapImageFilter<MaskImage, FloatImage>::New();
  distance->SetInput(to_itk(mask));
  distance->SetUseImageSpacing(true);
  distance->SetSquaredDistance(false);
  distance->SetInsideIsPositive(false);  // inside negative: deep voxels are the lowest
  distance->SetBackgroundValue(0);
  distance->Update();
  Volume relief = from_itk<float>(distance->GetOutput());
  // Outside the mask the relief is a high plateau, flooded last and discarded afterwards.
  for (std::size_t p = 0; p < relief.voxels.size(); ++p) {
    if (!mask.voxels[p]) relief.voxels[p] = 1e6f;
  }

  std::vector<std::size_t> sizes;
  const Image<std::uint32_t> markers =
      connected_components(erode_mm(mask, marker_radius_mm), &sizes);
  out.region_count = sizes.size();
  if (sizes.empty()) {
    // Nothing is thicker than the radius: the whole mask is one region per component.
    const auto whole = connected_components(mask, &sizes);
    out.labels = whole;
    out.region_count = sizes.size();
    return out;
  }
  using LabelImage = itk::Image<std::uint32_t, 3>;
  auto flood = itk::MorphologicalWatershedFromMarkersImageFilter<FloatImage, LabelImage>::New();
  flood->SetInput(to_itk(relief));
  flood->SetMarkerImage(to_itk(markers));
  flood->SetMarkWatershedLine(false);
  flood->SetFullyConnected(false);
  flood->Update();
  out.labels = from_itk<std::uint32_t>(flood->GetOutput());
  for (std::size_t p = 0; p < out.labels.voxels.size(); ++p) {
    if (!mask.voxels[p]) out.labels.voxels[p] = 0;
  }
  return out;
}

std::vector<RegionStats> region_stats(const RegionPartition& partition, const Volume& values) {
  const Geometry& g = partition.labels.geometry;
  std::vector<RegionStats> stats(partition.region_count + 1);
  std::vector<std::vector<float>> samples(partition.region_count + 1);
  const bool same = g.same_grid(values.geometry);
  const Geometry& vg = values.geometry;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const std::uint32_t l = partition.labels.at(i, j, k);
        if (l == 0 || l > partition.region_count) continue;
        auto& s = stats[l];
        const Vec3 p = g.index_to_point(i, j, k);
        ++s.voxels;
        for (int a = 0; a < 3; ++a) s.centroid[a] += p[a];
        if (same) {
          samples[l].push_back(values.at(i, j, k));
          continue;
        }
        const Vec3 c = vg.point_to_index(p);
        const long x = std::lround(c[0]), y = std::lround(c[1]), z = std::lround(c[2]);
        if (x < 0 || y < 0 || z < 0 || x >= static_cast<long>(vg.size[0]) ||
            y >= static_cast<long>(vg.size[1]) || z >= static_cast<long>(vg.size[2])) {
          continue;
        }
        samples[l].push_back(values.at(x, y, z));
      }
  for (std::size_t l = 1; l < stats.size(); ++l) {
    auto& s = stats[l];
    s.volume_ml = s.voxels * g.voxel_volume_ml();
    if (s.voxels) {
      for (int a = 0; a < 3; ++a) s.centroid[a] /= static_cast<double>(s.voxels);
    }
    auto& v = samples[l];
    s.sampled = v.size();
    if (!v.empty()) {
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      s.median = v[v.size() / 2];
    }
  }
  return stats;
}

std::vector<std::vector<std::uint32_t>> region_adjacency(const RegionPartition& partition) {
  const auto& L = partition.labels;
  const Geometry& g = L.geometry;
  std::vector<std::set<std::uint32_t>> sets(partition.region_count + 1);
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const std::uint32_t a = L.at(i, j, k);
        if (a == 0) continue;
        const std::uint32_t nb[3] = {i + 1 < g.size[0] ? L.at(i + 1, j, k) : 0,
                                     j + 1 < g.size[1] ? L.at(i, j + 1, k) : 0,
                                     k + 1 < g.size[2] ? L.at(i, j, k + 1) : 0};
        for (std::uint32_t b : nb) {
          if (b != 0 && b != a) {
            sets[a].insert(b);
            sets[b].insert(a);
          }
        }
      }
  std::vector<std::vector<std::uint32_t>> out(sets.size());
  for (std::size_t l = 0; l < sets.size(); ++l) out[l].assign(sets[l].begin(), sets[l].end());
  return out;
}

}  // namespace livernode::processing::detail
