#include "surgical_planning_stage.h"

#include <cstdio>
#include <map>

#include "couinaud.h"

namespace livernode::processing::detail {

namespace {
// Anatomical ranges the segments must fall in (share of the liver volume).
constexpr double kRightLiverMinPercent = 50.0, kRightLiverMaxPercent = 85.0;
constexpr double kCaudateMinPercent = 0.5, kCaudateMaxPercent = 15.0;
// The left lateral section (II + III): small in a shrunken left lobe, large when it has grown
// to compensate, but never almost absent in a liver that was not operated on.
constexpr double kLeftLateralMinPercent = 3.0, kLeftLateralMaxPercent = 40.0;
}  // namespace

void plan_surgery_stage(const Volume& reference, std::optional<double> spine_x,
                        std::optional<double> spine_anterior_y, const PlanningInputs& inputs,
                        AnalysisResult& result, const IvcTrack* ivc, const std::string& unit) {
  if (result.liver_mask.empty()) {
    result.stages.push_back({"couinaud", false, "no segments without a liver"});
    result.stages.push_back({"surgical_planning", false, "no remnant volumes without a liver"});
    return;
  }
  auto seg = segment_couinaud(reference, result.liver_mask, spine_x, spine_anterior_y, ivc, unit);
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
  // A plausibility check before any surgeon sees a remnant volume: planar boundaries from wrong
  // landmarks give a right liver or a caudate far from what anatomy allows.
  {
    double total = 0, right = 0;
    for (int s = 1; s <= kCouinaudSegments; ++s) total += c.volume_ml[s];
    for (int s = 5; s <= 8; ++s) right += c.volume_ml[s];
    const double right_pct = total > 0 ? 100.0 * right / total : 0.0;
    const double caudate_pct = total > 0 ? 100.0 * c.volume_ml[1] / total : 0.0;
    const double left_lateral_pct =
        total > 0 ? 100.0 * (c.volume_ml[2] + c.volume_ml[3]) / total : 0.0;
    if (right_pct < kRightLiverMinPercent || right_pct > kRightLiverMaxPercent ||
        caudate_pct < kCaudateMinPercent || caudate_pct > kCaudateMaxPercent ||
        left_lateral_pct < kLeftLateralMinPercent || left_lateral_pct > kLeftLateralMaxPercent) {
      std::string landmarks = seg.method;
      for (const auto& n : seg.notes) landmarks += "; " + n;
      char why[600];
      std::snprintf(
          why, sizeof why,
          "Couinaud segments failed the plausibility check and are not reported: right "
          "liver %.1f %% (expected %.0f-%.0f %%), caudate %.1f %% (expected %.1f-%.0f %%), "
          "left lateral section %.1f %% (expected %.0f-%.0f %%); landmarks: ",
          right_pct, kRightLiverMinPercent, kRightLiverMaxPercent, caudate_pct, kCaudateMinPercent,
          kCaudateMaxPercent, left_lateral_pct, kLeftLateralMinPercent, kLeftLateralMaxPercent);
      const std::string reason = std::string(why) + landmarks;
      result.stages.push_back({"couinaud", false, reason});
      result.stages.push_back({"surgical_planning", false,
                               "no remnant volumes: the Couinaud segments were not plausible"});
      result.warnings.push_back("Couinaud segments not plausible; FLR not computed");
      return;
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
      for (int s = 1; s <= kCouinaudSegments; ++s) pl.segment_ml[s] = it->second[s] * voxel_ml;
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
       std::string("ESLV (") +
           (result.surgical_plan->eslv_ml ? "from height and weight" : "absent") +
           "), future liver remnant of the standard resections (Brisbane 2000), tumour burden, "
           "distribution and ablation limits as facts"});
}

}  // namespace livernode::processing::detail
