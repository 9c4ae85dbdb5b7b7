#include "liver_segmentation.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "atlas_prior.h"
#include "image_crop.h"
#include "itk_bridge.h"
#include "mask_ops.h"
#include "region_partition.h"

namespace livernode::processing::detail {

namespace {

constexpr double kWindowBelow = 25.0;  // HU below the parenchyma mode still taken as liver
constexpr double kWindowAbove = 45.0;
constexpr double kMarkerMm = 10.0;         // regions are split at necks thinner than twice this
constexpr double kJoinToleranceHu = 12.0;  // region median vs liver seed, this phase
constexpr double kOtherPhaseToleranceHu = 15.0;  // same, in another phase (not yet registered)
constexpr double kLeftMarginMm = 15.0, kPosteriorMarginMm = 30.0;
constexpr double kLeftLobeBelowCentreMm = 30.0;
constexpr double kBehindSpineFrontMm = 20.0;
constexpr double kParaspinalDepthMm = 40.0;  // the vertebral body is 30-35 mm deep
constexpr double kParaspinalHalfWidthMm = 55.0;
constexpr double kPrevertebralAxisMm = 20.0;
constexpr double kJoinMinMl = 2.0;         // smaller neighbours are left to the closing
constexpr double kBorderRecoveryMm = 2.0;  // misalignment of the supporting phases
constexpr double kStripMm = 5.0;           // flooded strips thinner than twice this are cut
constexpr double kClosingMm = 5.0;  // takes in vessels and lesions at the surface (wider: hilum)
constexpr double kPrevertebralHalfWidthMm = 45.0;  // IVC and duodenum zone in front of the spine
constexpr double kPrevertebralDepthMm = 60.0;
constexpr double kIslandMaxMm2 = 1000.0;  // a liver cross-section there is larger
constexpr double kCavaMaxMm2 = 700.0;     // the cava, 25-30 mm across, above the dome
constexpr double kBandMm = 3.0;           // boundary band re-decided at full resolution
constexpr double kEdgeAllowanceHu =
    25.0;  // partial volume at the edge: half way to fat is still liver
constexpr double kBesideSmoothingMm = 3.0;  // what lies beside the liver, averaged this widely
constexpr double kMinShellWeight = 0.02;
// Breathing moves the liver mostly craniocaudally between phases, and what the registration
// leaves of it is largest at the dome, where the surface is nearly axial: a voxel is in another
// phase's window when that phase has it there within this distance above or below.
constexpr double kSupportZToleranceMm = 5.0;
// The atlas' floor: where fewer than this fraction of the (smoothed) training livers reach, no
// liver is sought. The smoothing spreads the training livers by about 15 mm, so this keeps
// about 3 cm of room beyond wherever any of them lay.
constexpr double kAtlasMinProbability = 0.01;
// A neighbouring region where the atlas gives the liver on average less than this is muscle,
// bowel, stomach or spleen, whatever its attenuation (measured leave-one-out, joined leaks of
// 30-850 mL averaged 0.000-0.020, joined liver 0.065 and more).
constexpr double kAtlasMinRegionProbability = 0.04;

// The back muscles: behind the vertebral body (more than kParaspinalDepthMm behind its front)
// and within kParaspinalHalfWidthMm of the spine's axis. The liver never lies there; in an
// arterial-only series the muscles have its attenuation and would otherwise join it.
LabelMap paraspinal_zone(const Geometry& g, const AbdomenSurvey& survey) {
  LabelMap zone(g, 0);
  if (!survey.spine_x || !survey.spine_anterior_y) return zone;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const Vec3 pt = g.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                         static_cast<double>(k));
        zone.at(i, j, k) = pt[1] > *survey.spine_anterior_y + kParaspinalDepthMm &&
                           std::abs(pt[0] - *survey.spine_x) < kParaspinalHalfWidthMm;
      }
  return zone;
}

LabelMap keep_component(const Image<std::uint32_t>& labels, std::uint32_t keep) {
  LabelMap out(labels.geometry, 0);
  for (std::size_t p = 0; p < labels.voxels.size(); ++p) out.voxels[p] = labels.voxels[p] == keep;
  return out;
}

LabelMap largest_component(const LabelMap& mask) {
  return keep_component(connected_components(mask, nullptr), 1);
}

// Removes, slice by slice, small islands of the mask lying just in front of the spine: the
// inferior vena cava and the duodenum, which touch the caudate lobe and would otherwise hang
// from the liver as a tube down to the pelvis. Liver cross-sections there are either large or
// joined in the slice to the rest of the liver.
void remove_prevertebral_islands(LabelMap& mask, const AbdomenSurvey& survey) {
  if (!survey.spine_x || !survey.spine_anterior_y) return;
  const Geometry& g = mask.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1];
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    std::uint8_t* plane = mask.voxels.data() + k * nx * ny;
    for (const auto& members : plane_components(plane, nx, ny)) {
      double cx = 0, cy = 0;
      for (std::size_t p : members) {
        const Vec3 pt = g.index_to_point(static_cast<double>(p % nx), static_cast<double>(p / nx),
                                         static_cast<double>(k));
        cx += pt[0];
        cy += pt[1];
      }
      cx /= members.size();
      cy /= members.size();
      const double area = members.size() * pixel_mm2;
      const bool prevertebral = std::abs(cx - *survey.spine_x) < kPrevertebralHalfWidthMm &&
                                cy > *survey.spine_anterior_y - kPrevertebralDepthMm &&
                                cy < *survey.spine_anterior_y + 10.0;
      if (prevertebral && area < kIslandMaxMm2) {
        for (std::size_t p : members) plane[p] = 0;
      }
    }
  }
}

// Where a supporting phase is in its own parenchyma window (or has no data), allowing
// `tolerance_mm` of craniocaudal misalignment.
LabelMap in_window_nearby(const SupportingPhase& phase, double tolerance_mm) {
  const Geometry& g = phase.aligned.geometry;
  LabelMap in(g, 0);
  for (std::size_t p = 0; p < in.voxels.size(); ++p) {
    const float o = phase.aligned.voxels[p];
    in.voxels[p] = o <= -1000.0f || (o >= phase.window_low_hu && o <= phase.window_high_hu);
  }
  const std::size_t plane = g.size[0] * g.size[1];
  const auto reach = static_cast<std::size_t>(std::lround(tolerance_mm / g.spacing[2]));
  LabelMap out = in;
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    const std::size_t k0 = k > reach ? k - reach : 0, k1 = std::min(g.size[2] - 1, k + reach);
    std::uint8_t* dst = out.voxels.data() + k * plane;
    for (std::size_t kk = k0; kk <= k1; ++kk) {
      const std::uint8_t* src = in.voxels.data() + kk * plane;
      for (std::size_t q = 0; q < plane; ++q) dst[q] |= src[q];
    }
  }
  return out;
}

// Removes, from the top down, slices where the mask is only small pieces near the midline: the
// inferior vena cava on its way from the liver to the right atrium, as bright as the liver in a
// late phase. The dome of the liver is broad and lies to the right; the mask there is larger.
void remove_cava_above_the_dome(LabelMap& mask, const AbdomenSurvey& survey) {
  if (!survey.spine_x) return;
  const Geometry& g = mask.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  std::vector<std::size_t> order(nz);
  for (std::size_t k = 0; k < nz; ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return g.index_to_point(0.0, 0.0, static_cast<double>(a))[2] >
           g.index_to_point(0.0, 0.0, static_cast<double>(b))[2];
  });
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];
  for (std::size_t k : order) {
    std::uint8_t* plane = mask.voxels.data() + k * nx * ny;
    const auto parts = plane_components(plane, nx, ny);
    if (parts.empty()) continue;
    std::size_t area = 0;
    for (const auto& part : parts) {
      area += part.size();
      double cx = 0;
      for (std::size_t p : part)
        cx += g.index_to_point(static_cast<double>(p % nx), static_cast<double>(p / nx),
                               static_cast<double>(k))[0];
      cx /= part.size();
      if (std::abs(cx - *survey.spine_x) > kPrevertebralHalfWidthMm) return;
    }
    if (area * pixel_mm2 > kCavaMaxMm2) return;
    for (const auto& part : parts)
      for (std::size_t p : part) plane[p] = 0;
  }
}

// Why a segmented region cannot be the liver, or empty when it can: an adult liver holds more
// than 300 mL, lies under the right hemidiaphragm (its top within 10 cm of the right lung's
// base, where the series shows the lung, or up to the series' top where it shows none) and mostly
// right of the spine.
constexpr double kMinLiverMl = 300.0;
constexpr double kTopBelowLungBaseMaxMm = 100.0;
constexpr double kCentroidLeftOfSpineMaxMm = 20.0;
constexpr double kBelowSeriesTopMaxMm = 20.0;

std::string implausible_liver(const LabelMap& mask, const AbdomenSurvey& survey) {
  const Geometry& g = mask.geometry;
  std::vector<double> heights;
  double sx = 0;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (mask.at(i, j, k)) {
          const Vec3 pt = g.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                           static_cast<double>(k));
          heights.push_back(pt[2]);
          sx += pt[0];
        }
  std::ostringstream why;
  why.precision(0);
  why << std::fixed;
  const double ml = heights.size() * g.voxel_volume_ml();
  if (heights.empty()) return "the liver mask is empty";
  if (ml < kMinLiverMl) {
    why << "the region found (" << ml << " mL) is too small to be an adult liver";
    return why.str();
  }
  const double highest = *std::max_element(heights.begin(), heights.end());
  std::nth_element(heights.begin(), heights.begin() + heights.size() * 98 / 100, heights.end());
  const double top = heights[heights.size() * 98 / 100];
  // A series without lung starts below the lung bases, so below the dome: a liver in it reaches
  // its top slice.
  double series_top = -1e9;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    series_top = std::max(series_top, g.index_to_point(0, 0, static_cast<double>(k))[2]);
  if (!survey.right_lung_base_z && highest < series_top - kBelowSeriesTopMaxMm) {
    why << "the series shows no lung, so it starts below the diaphragm where the liver reaches its "
           "top slice, but the region found ("
        << ml << " mL) ends " << (series_top - highest) / 10.0
        << " cm below that: it is not the liver";
    return why.str();
  }
  if (survey.right_lung_base_z && top < *survey.right_lung_base_z - kTopBelowLungBaseMaxMm) {
    why << "the region found (" << ml << " mL) lies " << (*survey.right_lung_base_z - top) / 10.0
        << " cm below the right lung's base, where the liver cannot be";
    return why.str();
  }
  const double midline = survey.spine_x.value_or(survey.body_centre_x);
  if (sx / heights.size() > midline + kCentroidLeftOfSpineMaxMm) {
    why << "the region found (" << ml << " mL) lies mostly left of the spine";
    return why.str();
  }
  return {};
}

}  // namespace

// The partition's markers are the parts thicker than twice kMarkerMm, and whatever is thinner
// is flooded into the marker it touches: a stomach wall, a bowel loop or a strip of muscle that
// lies against the liver has no region of its own and comes in with the seed, past the
// neighbour rules. Each connected part of the liver region that a ball of kMarkerMm does not
// fit in is judged as a neighbour region is: where the atlas gives the liver on average under
// kAtlasMinRegionProbability it is dropped. The liver's own thin edges lie where livers lie.
void drop_unlikely_thin_parts(LabelMap& liver, const Volume& prior) {
  const LabelMap thick = dilate_mm(erode_mm(liver, kMarkerMm), kMarkerMm);
  LabelMap thin(liver.geometry, 0);
  for (std::size_t p = 0; p < liver.voxels.size(); ++p)
    thin.voxels[p] = liver.voxels[p] && !thick.voxels[p];
  std::vector<std::size_t> sizes;
  const auto parts = connected_components(thin, &sizes);
  std::vector<double> mean(sizes.size() + 1, 0.0);
  for (std::size_t p = 0; p < parts.voxels.size(); ++p) mean[parts.voxels[p]] += prior.voxels[p];
  for (std::size_t l = 1; l < mean.size(); ++l) mean[l] /= static_cast<double>(sizes[l - 1]);
  for (std::size_t p = 0; p < liver.voxels.size(); ++p) {
    const std::uint32_t l = parts.voxels[p];
    if (l != 0 && mean[l] < kAtlasMinRegionProbability) liver.voxels[p] = 0;
  }
}

LiverSegmentation segment_liver(const Volume& volume, const AbdomenSurvey& survey,
                                const std::vector<SupportingPhase>& supporting,
                                bool full_resolution, const LiverAtlas* atlas) {
  LiverSegmentation result;
  if (!survey.axial) {
    result.failure = "the series is not axial";
    return result;
  }
  if (!survey.right_upper_quadrant_mode_hu) {
    result.failure = "no soft tissue found in the right upper quadrant";
    return result;
  }
  const double mode = *survey.right_upper_quadrant_mode_hu;
  result.window_low_hu = mode - kWindowBelow;
  result.window_high_hu = mode + kWindowAbove;
  const Volume& coarse = survey.coarse;
  const Geometry& g = coarse.geometry;

  // 1. Parenchyma window inside the body.
  LabelMap window(g, 0), this_phase(g, 0);
  std::vector<LabelMap> supported;
  for (const auto& phase : supporting)
    supported.push_back(in_window_nearby(phase, kSupportZToleranceMm));
  const LabelMap back_muscles = paraspinal_zone(g, survey);
  // The atlas' probability of the liver per voxel (absent without an atlas or a frame).
  std::optional<Volume> prior;
  if (atlas && !atlas->empty()) {
    std::string why_not;
    if (const auto frame = measure_atlas_frame(survey, &why_not)) {
      prior = atlas_probability(*atlas, *frame, g);
      std::ostringstream note;
      note.precision(0);
      note << std::fixed << "searched where a probabilistic atlas of " << atlas->cases
           << " livers (" << atlas->source << ") gives at least " << kAtlasMinProbability * 100
           << " %, placed by the right lung's base, the spine and the body outline (right "
           << "half-width " << frame->lateral_mm << " mm, depth before the spine "
           << frame->depth_mm << " mm); neighbours and parts thinner than " << 2 * kMarkerMm
           << " mm where it gives on average under " << kAtlasMinRegionProbability * 100
           << " % not joined";
      result.location_prior = note.str();
    } else {
      result.location_prior = "no location atlas: " + why_not;
    }
  }
  for (std::size_t p = 0; p < window.voxels.size(); ++p) {
    const float v = coarse.voxels[p];
    bool in = survey.body.voxels[p] && v >= result.window_low_hu && v <= result.window_high_hu &&
              !back_muscles.voxels[p];
    this_phase.voxels[p] = in;
    for (const auto& s : supported) in = in && s.voxels[p];
    window.voxels[p] = in;
  }
  // 2. Split the window at its necks; the largest region right of the spine seeds the liver.
  const RegionPartition regions = partition_at_necks(window, kMarkerMm);
  const auto ref_stats = region_stats(regions, coarse);
  // Each region's mean atlas probability.
  std::vector<double> region_prior(regions.region_count + 1, 1.0);
  if (prior) {
    std::vector<std::size_t> n(regions.region_count + 1, 0);
    std::fill(region_prior.begin(), region_prior.end(), 0.0);
    for (std::size_t p = 0; p < prior->voxels.size(); ++p) {
      region_prior[regions.labels.voxels[p]] += prior->voxels[p];
      ++n[regions.labels.voxels[p]];
    }
    for (std::size_t l = 0; l < n.size(); ++l)
      region_prior[l] = n[l] ? region_prior[l] / n[l] : 0.0;
  }
  std::vector<std::vector<RegionStats>> other_stats;
  for (const auto& phase : supporting) other_stats.push_back(region_stats(regions, phase.aligned));
  const double midline = survey.spine_x.value_or(survey.body_centre_x);
  // Only what lies in the liver's craniocaudal band counts for the seed: in a series from the
  // chest to the pelvis the largest region of the window may be muscle or bowel far below.
  std::vector<std::size_t> in_band(regions.region_count + 1, 0);
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    const double z = g.index_to_point(0, 0, static_cast<double>(k))[2];
    if (z < survey.liver_band_low_z || z > survey.liver_band_high_z) continue;
    const std::uint32_t* plane = regions.labels.voxels.data() + k * g.size[0] * g.size[1];
    for (std::size_t q = 0; q < g.size[0] * g.size[1]; ++q) ++in_band[plane[q]];
  }
  std::uint32_t seed = 0;
  for (std::uint32_t l = 1; l <= regions.region_count; ++l) {
    if (ref_stats[l].centroid[0] >= midline || in_band[l] == 0) continue;
    if (seed == 0 || in_band[l] > in_band[seed]) seed = l;
  }
  if (seed == 0) {
    result.failure = "no liver-like region right of the spine";
    return result;
  }
  // 3. Neighbouring regions join while they look like the seed in every phase: the heart, the
  //    spleen, the stomach wall and the bowel differ from the liver in at least one phase.
  const auto adjacency = region_adjacency(regions);
  std::vector<bool> accepted(regions.region_count + 1, false);
  accepted[seed] = true;
  // Only direct neighbours of the seed may join: chains of small regions would otherwise walk
  // along muscle and vessels far from the liver.
  // The heart sits on the dome and, late after injection, can match the liver's attenuation: a
  // neighbour centred above nearly all of the seed is not liver.
  std::vector<double> seed_heights;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (regions.labels.at(i, j, k) == seed)
          seed_heights.push_back(g.index_to_point(i, j, k)[2]);
  std::nth_element(seed_heights.begin(), seed_heights.begin() + seed_heights.size() * 95 / 100,
                   seed_heights.end());
  const double seed_top_z = seed_heights[seed_heights.size() * 95 / 100];
  for (std::uint32_t n : adjacency[seed]) {
    const auto& s = ref_stats[n];
    // Left of the midline the liver is anterior (left lobe); a region there lying as far back
    // as the spine is spleen, stomach or kidney.
    const bool left_posterior = survey.spine_anterior_y &&
                                s.centroid[0] > midline + kLeftMarginMm &&
                                s.centroid[1] > *survey.spine_anterior_y - kPosteriorMarginMm;
    // The left lobe lies in the upper abdomen: a region left of the midline centred well below
    // the seed's centre is bowel, stomach, spleen or muscle.
    const bool left_low = s.centroid[0] > midline + kLeftMarginMm &&
                          s.centroid[2] < ref_stats[seed].centroid[2] - kLeftLobeBelowCentreMm;
    // Behind the front of the vertebral body and close to the midline lie the crura, the psoas
    // and the back muscles; the liver reaches that far back only lateral to the spine.
    const bool beside_spine = survey.spine_anterior_y && survey.spine_x &&
                              s.centroid[1] > *survey.spine_anterior_y + kBehindSpineFrontMm &&
                              std::abs(s.centroid[0] - *survey.spine_x) < kParaspinalHalfWidthMm;
    // Right in front of the spine, on its axis, lie the aorta, the crura, the cava's medial wall
    // and, lower, the duodenum and the pancreas; the caudate lobe lies further right, the left
    // lobe further forward.
    const bool before_spine = survey.spine_anterior_y && survey.spine_x &&
                              std::abs(s.centroid[0] - *survey.spine_x) < kPrevertebralAxisMm &&
                              s.centroid[1] > *survey.spine_anterior_y - kPrevertebralDepthMm &&
                              s.centroid[1] < *survey.spine_anterior_y + kBehindSpineFrontMm;
    // Below the liver's craniocaudal band: the flank and the pelvis.
    const bool below_band = s.centroid[2] < survey.liver_band_low_z;
    // Where the atlas (if any) says livers hardly ever lie.
    const bool unlikely_place = region_prior[n] < kAtlasMinRegionProbability;
    bool like = s.volume_ml >= kJoinMinMl && s.centroid[2] <= seed_top_z && !left_posterior &&
                !left_low && !beside_spine && !before_spine && !below_band && !unlikely_place &&
                std::abs(s.median - ref_stats[seed].median) <= kJoinToleranceHu;
    for (std::size_t o = 0; o < other_stats.size() && like; ++o) {
      const auto& so = other_stats[o][n];
      if (so.sampled * 2 < so.voxels) continue;
      like = std::abs(so.median - other_stats[o][seed].median) <= kOtherPhaseToleranceHu;
    }
    accepted[n] = like;
  }
  LabelMap liver(g, 0);
  for (std::size_t p = 0; p < liver.voxels.size(); ++p) {
    liver.voxels[p] = accepted[regions.labels.voxels[p]];
  }
  // The other phases are only roughly aligned: at the border the joint window loses a few
  // millimetres, which this phase's window gives back.
  if (!supporting.empty()) {
    const LabelMap near = dilate_mm(liver, kBorderRecoveryMm);
    for (std::size_t p = 0; p < liver.voxels.size(); ++p) {
      liver.voxels[p] = liver.voxels[p] || (near.voxels[p] && this_phase.voxels[p]);
    }
  }
  if (prior) drop_unlikely_thin_parts(liver, *prior);
  // Nothing the atlas rules out: muscle, bowel or stomach far from where any liver lay, that the
  // seed reached through contact the necks did not separate.
  if (prior) {
    for (std::size_t p = 0; p < liver.voxels.size(); ++p)
      liver.voxels[p] &= prior->voxels[p] >= kAtlasMinProbability;
  }
  // 4. Thin strips the seed flooded (chest and abdominal wall muscle, diaphragm) go with an
  //    opening; closing and hole filling then take in vessels and lesions.
  {
    LabelMap opened = dilate_mm(erode_mm(liver, kStripMm), kStripMm);
    for (std::size_t p = 0; p < opened.voxels.size(); ++p) opened.voxels[p] &= liver.voxels[p];
    liver = largest_component(opened);
  }
  liver = erode_mm(dilate_mm(liver, kClosingMm), kClosingMm);
  for (std::size_t p = 0; p < liver.voxels.size(); ++p) {
    liver.voxels[p] &= survey.body.voxels[p] && coarse.voxels[p] > -30.0f;
  }
  fill_holes_per_slice(liver);
  remove_prevertebral_islands(liver, survey);
  remove_cava_above_the_dome(liver, survey);
  liver = largest_component(liver);

  if (!full_resolution) {
    result.mask = std::move(liver);
    const std::size_t n = count(result.mask);
    double sum = 0;
    for (std::size_t p = 0; p < result.mask.voxels.size(); ++p)
      if (result.mask.voxels[p]) sum += coarse.voxels[p];
    result.volume_ml = n * g.voxel_volume_ml();
    result.mean_hu = n ? sum / n : 0.0;
    result.failure = implausible_liver(result.mask, survey);
    return result;
  }

  // 5. Full resolution, near the liver only: the interior is kept, the boundary band follows
  //    the window.
  const LabelMap coarse_full = resample_nearest(liver, volume.geometry);
  const Box box = bounding_box(coarse_full, kBandMm + 4.0);
  const LabelMap near = crop(coarse_full, box);
  const LabelMap interior = erode_mm(near, kBandMm);
  const LabelMap outer = dilate_mm(near, kBandMm);
  const Volume smooth = gaussian_mm(crop(volume, box), 1.0);
  // The boundary lies half way between the liver and what is next to it: the mean of a shell
  // just beyond the coarse mask, spread over the neighbourhood (normalised convolution). Next to
  // fat the allowance below the window decides; next to muscle, bowel or the stomach wall
  // (a few tens of HU below the liver) the half-way level does; next to something brighter
  // (heart, vessels, kidney) the half-way level is the upper limit.
  const Volume beside = [&] {
    const LabelMap far = dilate_mm(near, 2.0 * kBandMm);
    Volume weighted = smooth, weight = smooth;
    for (std::size_t p = 0; p < smooth.voxels.size(); ++p) {
      const bool shell = far.voxels[p] && !outer.voxels[p];
      weighted.voxels[p] = shell ? smooth.voxels[p] : 0.0f;
      weight.voxels[p] = shell ? 1.0f : 0.0f;
    }
    weighted = gaussian_mm(weighted, kBesideSmoothingMm);
    weight = gaussian_mm(weight, kBesideSmoothingMm);
    for (std::size_t p = 0; p < smooth.voxels.size(); ++p)
      weighted.voxels[p] =
          weight.voxels[p] > kMinShellWeight ? weighted.voxels[p] / weight.voxels[p] : -1000.0f;
    return weighted;
  }();
  LabelMap local(near.geometry, 0);
  for (std::size_t p = 0; p < local.voxels.size(); ++p) {
    if (interior.voxels[p]) {
      local.voxels[p] = 1;
    } else if (outer.voxels[p]) {
      const float v = smooth.voxels[p];
      const double half_way = 0.5 * (mode + beside.voxels[p]);
      const bool darker_beside = beside.voxels[p] < mode;
      const double low = result.window_low_hu - kEdgeAllowanceHu;
      local.voxels[p] = darker_beside ? v >= std::max(low, half_way) && v <= result.window_high_hu
                                      : v >= low && v <= std::min(result.window_high_hu, half_way);
    }
  }
  fill_holes_per_slice(local);
  local = largest_component(erode_mm(dilate_mm(local, 2.0), 2.0));
  fill_holes_per_slice(local);
  LabelMap fine(volume.geometry, 0);
  paste(fine, local, box);

  result.mask = std::move(fine);
  const std::size_t n = count(result.mask);
  result.volume_ml = n * volume.geometry.voxel_volume_ml();
  double sum = 0;
  for (std::size_t p = 0; p < result.mask.voxels.size(); ++p) {
    if (result.mask.voxels[p]) sum += volume.voxels[p];
  }
  result.mean_hu = n ? sum / n : 0.0;
  result.failure = implausible_liver(result.mask, survey);
  return result;
}

}  // namespace livernode::processing::detail
