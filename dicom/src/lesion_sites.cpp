// Where each lesion lies among the Couinaud segments, by voxel overlap.
#include <algorithm>
#include <array>
#include <cstdio>

#include "livernode/dicom/result_writers.h"

namespace livernode::dicom {

std::map<int, std::vector<LesionSite>> lesion_sites(const processing::AnalysisResult& result) {
  std::map<int, std::vector<LesionSite>> out;
  const auto& lesions = result.lesion_labels;
  const auto& segments = result.couinaud_labels;
  if (lesions.empty() || segments.empty() || lesions.voxels.size() != segments.voxels.size())
    return out;
  std::map<int, std::array<std::size_t, processing::kCouinaudSegments + 1>> counts;
  std::map<int, std::size_t> totals;
  for (std::size_t p = 0; p < lesions.voxels.size(); ++p) {
    const int lesion = lesions.voxels[p];
    if (!lesion) continue;
    ++totals[lesion];
    const int s = segments.voxels[p];
    if (s >= 1 && s <= processing::kCouinaudSegments) ++counts[lesion][s];
  }
  const double voxel_ml = lesions.geometry.voxel_volume_ml();
  for (const auto& [lesion, per_segment] : counts) {
    std::vector<LesionSite> sites;
    const double total = static_cast<double>(totals[lesion]);
    for (int s = 1; s <= processing::kCouinaudSegments; ++s) {
      const double share = 100.0 * static_cast<double>(per_segment[s]) / total;
      if (per_segment[s] == 0 || share < 1.0) continue;
      sites.push_back({s, static_cast<double>(per_segment[s]) * voxel_ml, share});
    }
    std::stable_sort(sites.begin(), sites.end(), [](const LesionSite& a, const LesionSite& b) {
      return a.percent > b.percent;
    });
    out[lesion] = std::move(sites);
  }
  return out;
}

std::string lesion_sites_text(const std::vector<LesionSite>& sites) {
  std::string text;
  for (const auto& s : sites) {
    char share[32];
    std::snprintf(share, sizeof share, " (%.0f %%)", s.percent);
    text += (text.empty() ? "" : ", ") + std::string(processing::couinaud_roman(s.segment)) + share;
  }
  return text;
}

}  // namespace livernode::dicom
