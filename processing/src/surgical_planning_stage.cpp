#include "surgical_planning_stage.h"

#include <map>

#include "couinaud.h"

namespace livernode::processing::detail {

void plan_surgery_stage(const Volume& reference, std::optional<double> spine_x,
                        std::optional<double> spine_anterior_y, const PlanningInputs& inputs,
                        AnalysisResult& result) {
  if (result.liver_mask.empty()) {
    result.stages.push_back({"couinaud", false, "no segments without a liver"});
    result.stages.push_back({"surgical_planning", false, "no remnant volumes without a liver"});
    return;
  }
  auto seg = segment_couinaud(reference, result.liver_mask, spine_x, spine_anterior_y);
  if (!seg.failure.empty()) {
    result.stages.push_back({"couinaud", false, "no Couinaud segments: " + seg.failure});
    result.stages.push_back(
        {"surgical_planning", false, "no remnant volumes without Couinaud segments"});
    return;
  }
  CouinaudResult c;
  const double voxel_ml = reference.geometry.voxel_volume_ml();
  const bool have_lesions = result.lesion_labels.voxels.size() == seg.segments.voxels.size();
  std::map<int, std::array<std::size_t, kCouinaudSegments + 1>> lesion_counts;
  for (std::size_t p = 0; p < seg.segments.voxels.size(); ++p) {
    const int s = seg.segments.voxels[p];
    if (!s) continue;
    c.volume_ml[s] += voxel_ml;
    if (have_lesions && result.lesion_labels.voxels[p]) {
      c.tumour_ml[s] += voxel_ml;
      ++lesion_counts[result.lesion_labels.voxels[p]][s];
    }
  }
  c.ivc_lps = seg.ivc_lps;
  c.portal_plane_z = seg.portal_plane_z;
  c.vein_azimuth_deg = seg.vein_azimuth_deg;
  c.method = seg.method;
  c.notes = seg.notes;
  std::string detail = c.method;
  for (const auto& n : c.notes) detail += "; " + n;
  result.stages.push_back({"couinaud", true, detail});
  result.couinaud_labels = std::move(seg.segments);

  SegmentVolumes volumes;
  volumes.total_ml = c.volume_ml;
  volumes.tumour_ml = c.tumour_ml;
  std::vector<PlanningLesion> lesions;
  for (const auto& l : result.lesions) {
    PlanningLesion pl;
    pl.number = l.number;
    pl.volume_ml = l.volume_ml;
    pl.longest_diameter_mm = l.longest_diameter_mm;
    // The segment holding most of the lesion.
    const auto it = lesion_counts.find(l.number);
    if (it != lesion_counts.end()) {
      std::size_t best = 0;
      for (int s = 1; s <= kCouinaudSegments; ++s) {
        if (it->second[s] > best) {
          best = it->second[s];
          pl.segment = s;
        }
      }
    }
    lesions.push_back(pl);
  }
  result.couinaud = std::move(c);
  result.surgical_plan = plan_surgery(volumes, lesions, inputs);
  result.stages.push_back(
      {"surgical_planning", true,
       std::string("ESLV (") + (result.surgical_plan->eslv_ml ? "from height and weight" : "absent") +
           "), future liver remnant of the standard resections (Brisbane 2000), tumour burden, "
           "distribution and ablation limits as facts"});
}

}  // namespace livernode::processing::detail
