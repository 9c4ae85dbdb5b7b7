#include "lesion_detection.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

#include "image_crop.h"
#include "itk_bridge.h"
#include "lesion_measures.h"
#include "mask_ops.h"

namespace livernode::processing::detail {

namespace {

constexpr double kSmoothingMm = 1.5;
// A candidate is followed this far along the thin hypodense structures the opening took off it.
constexpr double kAttachmentMm = 15.0;
constexpr double kMergeGapMm = 5.0;  // pieces this close are one lesion
constexpr double kHullMm = 8.0;      // surface hollows closed for the lesion search
// A lesion at the surface against the lung (dome, posterior right lobe) is darker than the
// parenchyma window and is cut out of the liver mask with nothing but air beyond it to close the
// bite: the search reaches this far out of the liver where lung lies this close.
constexpr double kLungSideReachMm = 10.0;
// Elsewhere a tumour at the surface that does not look like parenchyma is cut out of the liver
// mask too, and leaves a bite in its surface that the hull does not close. The liver's envelope
// (its closing by this radius, which fills bites up to about 7 cm across) holds such a bite: a
// second search looks for dark tumours in the soft tissue there, away from fat (the hilum,
// fissures and the gallbladder's bed: soft tissue within kBesideFatMm of fat is vessels, ducts
// and partial volume) and fluid. Neighbouring organs reach into the envelope as well (kidney,
// bowel, muscle, the cava) and what of them lies in it is a band or a lens, while a tumour is
// round: at the surface, a sphere cut by it, at most a hemisphere (elongation about 1.6,
// compactness 0.5). Candidates of the second search must be that round, allowing for lobulation.
constexpr double kEnvelopeMm = 35.0;
constexpr double kBesideFatMm = 3.0;
constexpr double kMaxBiteElongation = 2.5;
constexpr double kMinBiteCompactness = 0.25;
constexpr double kMinBiteMl = 1.0;      // smaller surface tumours stay within the hull's reach
constexpr double kMinBiteShare = 0.25;  // of a candidate beyond the first search's region
constexpr double kMaxLumenShare = 0.1;  // of a candidate in the cava's lumen or wall
constexpr double kCavaWallMm = 3.0;     // around the traced lumen
constexpr double kAirHu = -400.0;       // lung (or gas): below this
constexpr double kBesideAirMm = 4.0;    // partial volume with the lung reaches this far
constexpr double kSoftTissueHu = 20.0;  // the bite is soft tissue, not fat or air
constexpr double kInteriorMm = 1.0;
constexpr std::size_t kMinInteriorVoxels = 20;
constexpr double kMinContrastHu = 15.0;   // smallest lesion-to-liver difference detected
constexpr double kNoiseFactor = 3.0;      // or this many SDs of the smoothed parenchyma
constexpr double kVesselExcessHu = 40.0;  // arterial-bright voxels this bright later are vessels
constexpr double kMinLesionMl = 0.4;      // ~9 mm sphere; smaller candidates are noise
constexpr double kMaxElongation = 3.5;    // longest/shortest principal axis; above = a tube
constexpr double kSurfaceBandMm = 3.0;
constexpr double kMaxSurfaceFraction = 0.6;  // hypodense, mostly in the surface band: fissure/fat
constexpr double kOpeningMm = 2.5;
constexpr double kFatHu = -20.0;  // fat in a candidate: a fissure or the hilum
constexpr double kMaxFatFraction = 0.1;
constexpr double kMinFatMl = 0.05;       // smaller specks of fat values are noise
constexpr double kMinCompactness = 0.2;  // volume / sphere of the longest diameter
// The retrohepatic inferior vena cava, relative to the front of the vertebral body (mm): mixing
// of opacified and unopacified blood makes it look like a lesion in several phases.
constexpr double kCavaRightMm = 55.0, kCavaLeftMm = 10.0, kCavaFrontMm = 45.0, kCavaBackMm = 10.0;
constexpr double kMinSplitMl = 1.0;
constexpr double kSplitRadiiMm[] = {5.0, 7.5};
constexpr double kShellInnerMm = 2.0, kShellOuterMm = 6.0;
constexpr double kMinSurroundingParenchyma = 0.65;
// A large tumour at the surface bulges out of the liver: up to half of the shell around it lies
// beyond the surface, wherever its centre lies. Candidates of kLargeLesionMl and more need only
// the parenchyma of a hemisphere around them.
constexpr double kMinSurroundingParenchymaLarge = 0.5;
// A large candidate that is mostly hyperenhancing in the arterial phase is a hypervascular
// tumour whatever lies around it: its own heterogeneous margin and the perfusion changes
// around it spoil the shell, and the hilum or a neighbouring organ does not make such a blob.
constexpr double kLargeLesionMl = 20.0;
constexpr double kRingInnerMm = 3.0, kRingOuterMm = 10.0;  // parenchyma around a lesion
constexpr double kEnhancedHu = 15.0;  // lesion - liver above this: hyperenhancing
// Hyperenhancement "in whole or in part" (LI-RADS): a lesion whose mean does not reach the
// threshold still is hyperenhancing when this share of its interior does. After the smoothing,
// tissue as bright as the liver exceeds the threshold in a few per cent of its voxels at most.
constexpr double kEnhancingPartFraction = 0.2;
constexpr double kWashoutHu = -10.0;  // lesion - liver below this in a later phase
constexpr double kWaterMaxHu = 25.0, kWaterMinHu = -15.0;

Volume smooth(const Volume& v) { return gaussian_mm(v, kSmoothingMm); }

// The fat inside `mask`: voxels of `hu` at fat values, as a tissue (connected pieces of at least
// kMinFatMl; smaller specks are noise).
LabelMap fat_within(const Volume& hu, const LabelMap& mask) {
  LabelMap fat(mask.geometry, 0);
  for (std::size_t p = 0; p < fat.voxels.size(); ++p)
    fat.voxels[p] = mask.voxels[p] && hu.voxels[p] > -1500.0f && hu.voxels[p] <= kFatHu;
  std::vector<std::size_t> sizes;
  const auto specks = connected_components(fat, &sizes);
  const double voxel_ml = mask.geometry.voxel_volume_ml();
  for (std::size_t p = 0; p < fat.voxels.size(); ++p) {
    const auto c = specks.voxels[p];
    fat.voxels[p] = c && sizes[c - 1] * voxel_ml >= kMinFatMl;
  }
  return fat;
}

// The phase cropped to `box` (raw) and smoothed; voxels without data stay without data.
void crop_and_smooth(const Volume& phase, const Box& box, std::vector<Volume>& raw,
                     std::vector<Volume>& smoothed) {
  raw.push_back(crop(phase, box));
  smoothed.push_back(smooth(raw.back()));
  for (std::size_t p = 0; p < raw.back().voxels.size(); ++p)
    if (raw.back().voxels[p] <= -1500.0f) smoothed.back().voxels[p] = -2000.0f;
}

// The parenchyma around a lesion: liver voxels 3-10 mm from it that are not in `excluded`
// (other lesions or candidates).
std::vector<std::size_t> parenchyma_ring(const Neighbourhood& near, const LabelMap& liver,
                                         const LabelMap& excluded) {
  std::vector<std::size_t> ring;
  for (std::size_t p : near.shell(kRingInnerMm, kRingOuterMm))
    if (liver.voxels[p] && !excluded.voxels[p]) ring.push_back(p);
  return ring;
}

// The voxels of `thin` (hypodense, taken off the candidates by the opening) connected to the
// candidate `vox` within kAttachmentMm of it, through hypodense voxels (`hypo`).
std::size_t thin_attachment(const Geometry& g, const std::vector<std::size_t>& vox,
                            const LabelMap& hypo, const LabelMap& opened) {
  const Neighbourhood near(g, vox, kAttachmentMm);
  const LabelMap& m = near.mask();
  const auto& s = m.geometry.size;
  std::vector<std::uint8_t> seen(m.voxels.begin(), m.voxels.end());
  std::vector<std::size_t> todo;
  for (std::size_t q = 0; q < m.voxels.size(); ++q)
    if (m.voxels[q]) todo.push_back(q);
  std::size_t thin = 0;
  while (!todo.empty()) {
    const std::size_t q = todo.back();
    todo.pop_back();
    const std::size_t idx[3] = {q % s[0], (q / s[0]) % s[1], q / (s[0] * s[1])};
    for (int a = 0; a < 3; ++a)
      for (int dir : {-1, 1}) {
        if ((dir < 0 && idx[a] == 0) || (dir > 0 && idx[a] + 1 == s[a])) continue;
        std::size_t n[3] = {idx[0], idx[1], idx[2]};
        n[a] += dir;
        const std::size_t r = m.offset(n[0], n[1], n[2]);
        if (seen[r]) continue;
        const std::size_t p = near.to_global(r);
        if (!hypo.voxels[p]) continue;
        seen[r] = 1;
        todo.push_back(r);
        thin += !opened.voxels[p];
      }
  }
  return thin;
}

}  // namespace

Robust robust_stats(const Volume& v, const LabelMap& mask) {
  std::vector<float> values;
  for (std::size_t p = 0; p < v.voxels.size(); ++p) {
    if (mask.voxels[p] && v.voxels[p] > -1500.0f) values.push_back(v.voxels[p]);
  }
  Robust r;
  if (values.empty()) return r;
  auto mid = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), mid, values.end());
  r.median = *mid;
  for (auto& x : values) x = std::abs(x - static_cast<float>(r.median));
  std::nth_element(values.begin(), mid, values.end());
  r.sd = 1.4826 * *mid;
  return r;
}

double mean_of(const Volume& v, const std::vector<std::size_t>& voxels, double* sd) {
  double s = 0, s2 = 0;
  std::size_t n = 0;
  for (std::size_t p : voxels) {
    if (v.voxels[p] <= -1500.0f) continue;
    s += v.voxels[p];
    s2 += double(v.voxels[p]) * v.voxels[p];
    ++n;
  }
  if (n == 0) return NAN;
  const double m = s / n;
  if (sd) *sd = std::sqrt(std::max(0.0, s2 / n - m * m));
  return m;
}

std::vector<std::size_t> redraw_at_half_contrast(const Geometry& g,
                                                 const std::vector<std::size_t>& vox,
                                                 const Volume& image, double around,
                                                 double interior_mm, const LabelMap& within,
                                                 const LabelMap& taken, const LabelMap* keep_out) {
  constexpr std::size_t kMinInterior = 20;  // voxels; fewer: the whole candidate gives the level
  const Neighbourhood near(g, vox, kEdgeReachMm);
  const Neighbourhood wide(g, vox, kEdgeReachMm + 4.0 * kEdgeSmoothingMm);
  const Volume light = gaussian_mm(wide.cut_out(image), kEdgeSmoothingMm);
  const double core = [&] {
    const auto interior = near.voxels(erode_mm(near.mask(), interior_mm));
    std::vector<std::size_t> local;
    for (std::size_t p : interior.size() >= kMinInterior ? interior : vox)
      local.push_back(wide.to_local(p));
    return median_of(light, local);
  }();
  const double cut = 0.5 * (core + around);
  const bool darker = core < around;
  LabelMap reach = near.mask();
  for (auto& spacing : reach.geometry.spacing) spacing = std::min(spacing, 0.999 * kEdgeReachMm);
  reach = dilate_mm(reach, kEdgeReachMm);
  std::vector<std::size_t> grown;
  for (std::size_t p : near.voxels(reach)) {
    if (!within.voxels[p] || taken.voxels[p] || image.voxels[p] <= -1500.0f) continue;
    const float v = light.voxels[wide.to_local(p)];
    if (darker ? v < cut : v > cut) grown.push_back(p);
  }
  if (grown.empty()) return grown;
  // Further steps (with `keep_out`): a candidate may be only part of its tumour (the brightest
  // part of a mosaic, a core split off at a neck), so the edge moves on, kEdgeReachMm at a time,
  // while a step adds at least kMinGrowthShare of the lesion. A step takes the voxels beyond half
  // contrast against the parenchyma right around (the median of a ring kGrowthRingMm wide, on
  // an image smoothed by kGrowthSmoothingMm: noise and regional differences do not carry it)
  // but not beyond the lesion's level by as much again (vessels brighter than a bright lesion,
  // fat darker than a dark one). It stays in the slices of the candidate (across thick slices
  // partial volume with what lies above or below would carry it out), out of `keep_out` and
  // kGrowthAwayFromSurfaceMm inside `within` (partial volume at the surface). A duct or a
  // fissure's partial volume that the first step took for a lesion is followed along and comes
  // out flat, and is then left out as such.
  const std::size_t plane = g.size[0] * g.size[1];
  std::vector<bool> own_slice(g.size[2], false);
  for (std::size_t p : vox) own_slice[p / plane] = true;
  for (int step = 1; keep_out && step < kGrowthSteps; ++step) {
    const Neighbourhood front(g, grown, kGrowthRingMm + 4.0 * kGrowthSmoothingMm);
    const Volume level = gaussian_mm(front.cut_out(image), kGrowthSmoothingMm);
    LabelMap inner(front.mask().geometry, 0);
    for (std::size_t q = 0; q < inner.voxels.size(); ++q) {
      const std::size_t p = front.to_global(q);
      inner.voxels[q] = within.voxels[p] && !taken.voxels[p] && !keep_out->voxels[p] &&
                        image.voxels[p] > -1500.0f && own_slice[p / plane];
    }
    inner = erode_mm(inner, kGrowthAwayFromSurfaceMm);
    const auto reached = dilate_mm(front.mask(), {kEdgeReachMm, kGrowthRingMm});
    const LabelMap& ahead = reached[0];
    const LabelMap& ring = reached[1];
    std::vector<double> local;
    for (std::size_t q = 0; q < ring.voxels.size(); ++q)
      if (ring.voxels[q] && !ahead.voxels[q] && inner.voxels[q]) local.push_back(level.voxels[q]);
    if (local.size() < kMinInterior) break;
    std::nth_element(local.begin(), local.begin() + local.size() / 2, local.end());
    const double local_around = local[local.size() / 2];
    const double local_cut = 0.5 * (core + local_around);
    const double beyond = core + (core - local_around);
    std::size_t added = 0;
    for (std::size_t q = 0; q < ahead.voxels.size(); ++q) {
      if (!ahead.voxels[q] || front.mask().voxels[q] || !inner.voxels[q]) continue;
      const float v = level.voxels[q];
      if (darker ? (v < local_cut && v > beyond) : (v > local_cut && v < beyond)) {
        grown.push_back(front.to_global(q));
        ++added;
      }
    }
    if (added < kMinGrowthShare * (grown.size() - added)) break;
  }
  const Neighbourhood shape(g, grown, kSolidClosingMm + 1.0);
  LabelMap solid = erode_mm(dilate_mm(shape.mask(), kSolidClosingMm), kSolidClosingMm);
  fill_holes_per_slice(solid);
  grown.clear();
  for (std::size_t p : shape.voxels(solid))
    if (within.voxels[p] && !taken.voxels[p]) grown.push_back(p);
  return grown;
}

double median_of(const Volume& v, const std::vector<std::size_t>& voxels) {
  std::vector<float> values;
  for (std::size_t p : voxels) {
    if (v.voxels[p] > -1500.0f) values.push_back(v.voxels[p]);
  }
  if (values.empty()) return NAN;
  auto mid = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

// Ratio of the longest to the shortest principal axis of a voxel set (mm).
double elongation(const Geometry& g, const std::vector<std::size_t>& voxels) {
  const std::size_t nx = g.size[0], ny = g.size[1];
  double m[3] = {0, 0, 0}, c[3][3] = {{0}};
  std::vector<Vec3> pts;
  pts.reserve(voxels.size());
  for (std::size_t p : voxels) {
    pts.push_back(g.index_to_point(p % nx, (p / nx) % ny, p / (nx * ny)));
    for (int a = 0; a < 3; ++a) m[a] += pts.back()[a];
  }
  for (double& x : m) x /= pts.size();
  for (const Vec3& q : pts)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) c[a][b] += (q[a] - m[a]) * (q[b] - m[b]);
  // Eigenvalues of the symmetric 3x3 covariance (closed form).
  const double p1 = c[0][1] * c[0][1] + c[0][2] * c[0][2] + c[1][2] * c[1][2];
  const double q = (c[0][0] + c[1][1] + c[2][2]) / 3.0;
  const double p2 = (c[0][0] - q) * (c[0][0] - q) + (c[1][1] - q) * (c[1][1] - q) +
                    (c[2][2] - q) * (c[2][2] - q) + 2 * p1;
  const double p = std::sqrt(p2 / 6.0);
  if (p < 1e-9) return 1.0;
  double B[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) B[a][b] = (c[a][b] - (a == b ? q : 0.0)) / p;
  const double detB = B[0][0] * (B[1][1] * B[2][2] - B[1][2] * B[2][1]) -
                      B[0][1] * (B[1][0] * B[2][2] - B[1][2] * B[2][0]) +
                      B[0][2] * (B[1][0] * B[2][1] - B[1][1] * B[2][0]);
  const double r = std::clamp(detB / 2.0, -1.0, 1.0);
  const double phi = std::acos(r) / 3.0;
  const double e1 = q + 2 * p * std::cos(phi);
  const double e3 = q + 2 * p * std::cos(phi + 2.0 * M_PI / 3.0);
  // A voxel has a size: add a twelfth of the squared spacing so flat thin sets stay finite.
  const double floor_var = g.spacing[2] * g.spacing[2] / 12.0 * pts.size();
  return std::sqrt((e1 + floor_var) / (std::max(e3, 0.0) + floor_var));
}

// RECIST 1.1 on the axial slices: the longest in-plane diameter over all slices, then the
// longest chord perpendicular to it on the same slice.
void measure_recist(const Geometry& g, const std::vector<std::size_t>& voxels, LesionResult& out) {
  const std::size_t nx = g.size[0], ny = g.size[1];
  std::map<std::size_t, std::vector<std::size_t>> by_slice;
  for (std::size_t p : voxels) by_slice[p / (nx * ny)].push_back(p % (nx * ny));
  const double pixel = 0.5 * (g.spacing[0] + g.spacing[1]);
  double best = -1.0;
  for (const auto& [k, pixels] : by_slice) {
    std::vector<char> in(nx * ny, 0);
    for (std::size_t q : pixels) in[q] = 1;
    std::vector<Vec3> edge;
    for (std::size_t q : pixels) {
      const std::size_t i = q % nx, j = q / nx;
      const bool border = i == 0 || j == 0 || i + 1 == nx || j + 1 == ny || !in[q - 1] ||
                          !in[q + 1] || !in[q - nx] || !in[q + nx];
      if (border) edge.push_back(g.index_to_point(i, j, k));
    }
    for (std::size_t a = 0; a < edge.size(); ++a)
      for (std::size_t b = a + 1; b < edge.size(); ++b) {
        const double dx = edge[a][0] - edge[b][0], dy = edge[a][1] - edge[b][1],
                     dz = edge[a][2] - edge[b][2];
        const double d = std::sqrt(dx * dx + dy * dy + dz * dz);
        if (d > best) {
          best = d;
          out.axial_slice = k;
          out.long_axis = {edge[a], edge[b]};
        }
      }
    if (edge.size() == 1 && best < 0) {
      best = 0;
      out.axial_slice = k;
      out.long_axis = {edge[0], edge[0]};
    }
  }
  if (best < 0) return;
  out.longest_diameter_mm = best + pixel;  // centre-to-centre plus one voxel
  // Short axis: chords perpendicular to the long axis, one per step along it.
  Vec3 u{out.long_axis[1][0] - out.long_axis[0][0], out.long_axis[1][1] - out.long_axis[0][1],
         out.long_axis[1][2] - out.long_axis[0][2]};
  const double len = std::sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
  if (len < 1e-6) {
    out.short_axis_mm = out.longest_diameter_mm;
    out.short_axis = out.long_axis;
    return;
  }
  for (double& x : u) x /= len;
  // In-plane perpendicular: the slice normal crossed with u.
  const Vec3 n = g.axis(2);
  Vec3 v{n[1] * u[2] - n[2] * u[1], n[2] * u[0] - n[0] * u[2], n[0] * u[1] - n[1] * u[0]};
  const double vl = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  for (double& x : v) x /= vl;
  const Vec3 o = out.long_axis[0];
  std::map<long, std::pair<double, double>> chords;  // bin along u -> (min, max) along v
  for (std::size_t q : by_slice[out.axial_slice]) {
    const Vec3 pt = g.index_to_point(q % nx, q / nx, out.axial_slice);
    const Vec3 d{pt[0] - o[0], pt[1] - o[1], pt[2] - o[2]};
    const double s = d[0] * u[0] + d[1] * u[1] + d[2] * u[2];
    const double t = d[0] * v[0] + d[1] * v[1] + d[2] * v[2];
    const long bin = std::lround(s / pixel);
    auto it = chords.find(bin);
    if (it == chords.end()) {
      chords[bin] = {t, t};
    } else {
      it->second.first = std::min(it->second.first, t);
      it->second.second = std::max(it->second.second, t);
    }
  }
  double best_chord = -1;
  for (const auto& [bin, range] : chords) {
    const double chord = range.second - range.first;
    if (chord > best_chord) {
      best_chord = chord;
      const double s = bin * pixel;
      for (int e = 0; e < 2; ++e) {
        const double t = e == 0 ? range.first : range.second;
        for (int a = 0; a < 3; ++a) out.short_axis[e][a] = o[a] + s * u[a] + t * v[a];
      }
    }
  }
  out.short_axis_mm = std::min(best_chord + pixel, out.longest_diameter_mm);
}

namespace {

bool later_phase(Phase p) { return p == Phase::kPortalVenous || p == Phase::kDelayed; }

void classify(LesionResult& lesion, Phase reference_phase) {
  const LesionPhaseMeasure* arterial = nullptr;
  const LesionPhaseMeasure* reference = nullptr;
  double max_hu = -1e9, min_later_enh = 1e9;
  bool has_later = false;
  for (const auto& m : lesion.phases) {
    if (m.phase == Phase::kArterial) arterial = &m;
    if (m.phase == reference_phase) reference = &m;
    if (m.phase != Phase::kNonContrast) max_hu = std::max(max_hu, m.mean_hu);
    if (later_phase(m.phase)) {
      has_later = true;
      min_later_enh = std::min(min_later_enh, m.enhancement);
    }
  }
  std::ostringstream why;
  why.precision(0);
  why << std::fixed;
  if (reference && reference->mean_hu >= kWaterMinHu && reference->mean_hu <= kWaterMaxHu &&
      max_hu <= kWaterMaxHu + 10.0) {
    lesion.type = LesionType::kCystLike;
    why << "near water density (" << reference->mean_hu << " HU) without enhancement";
  } else if (arterial && (arterial->enhancement > kEnhancedHu ||
                          arterial->enhancing_fraction >= kEnhancingPartFraction)) {
    const bool washout = has_later && min_later_enh < kWashoutHu;
    lesion.type = washout ? LesionType::kHypervascularWashout : LesionType::kHypervascularNoWashout;
    if (arterial->enhancement > kEnhancedHu) {
      why << "arterial enhancement " << std::showpos << arterial->enhancement << " HU over liver";
    } else {
      why << "arterial enhancement in part: " << std::noshowpos
          << 100.0 * arterial->enhancing_fraction << " % of the lesion more than " << kEnhancedHu
          << " HU over liver (mean " << std::showpos << arterial->enhancement << " HU)";
    }
    if (has_later) why << ", later " << min_later_enh << " HU" << (washout ? " (washout)" : "");
  } else if (arterial && has_later && min_later_enh < kWashoutHu) {
    lesion.type = LesionType::kHypovascular;
    why << "not enhancing in the arterial phase (" << std::showpos << arterial->enhancement
        << " HU), hypodense later (" << min_later_enh << " HU)";
  } else {
    lesion.type = LesionType::kUnknown;
    why << (arterial ? "enhancement pattern not conclusive"
                     : "no arterial phase: hypo- or hypervascularity cannot be told");
  }
  lesion.type_evidence = why.str();
}

}  // namespace

// Measures each lesion of `kept` (indices on the cropped grid `liver.geometry`, whose corner is
// `lo` on the full grid) and writes it into out.labels and out.lesions.
void measure_lesions(const std::vector<AlignedPhase>& phases, std::size_t reference,
                     const std::array<std::size_t, 3>& lo, const LabelMap& liver,
                     const std::vector<Volume>& raw, const std::vector<Volume>& smoothed,
                     const std::vector<Robust>& parenchyma, const LabelMap& all_lesions,
                     const std::vector<std::vector<std::size_t>>& kept, LesionDetection& out) {
  const Geometry& g = liver.geometry;
  const double voxel_ml = g.voxel_volume_ml();
  for (std::size_t n = 0; n < kept.size() && n < 250; ++n) {
    const auto& vox = kept[n];
    LesionResult lesion;
    lesion.number = static_cast<int>(n + 1);
    lesion.volume_ml = vox.size() * voxel_ml;
    Vec3 c{0, 0, 0};
    const std::size_t nx = g.size[0], ny = g.size[1];
    for (std::size_t p : vox) {
      const Vec3 pt = g.index_to_point(p % nx, (p / nx) % ny, p / (nx * ny));
      for (int a = 0; a < 3; ++a) c[a] += pt[a];
    }
    for (int a = 0; a < 3; ++a) lesion.centroid_lps[a] = c[a] / vox.size();
    measure_recist(g, vox, lesion);
    lesion.axial_slice += lo[2];
    lesion.measurable = lesion.longest_diameter_mm >= 10.0;
    // Attenuation over the interior (1 mm in from the edge), free of partial volume with the
    // parenchyma; small lesions are measured whole.
    const Neighbourhood near(g, vox, kRingOuterMm);
    const auto interior = near.voxels(erode_mm(near.mask(), kInteriorMm));
    const auto& measured = interior.size() >= kMinInteriorVoxels ? interior : vox;
    lesion.mean_hu = mean_of(raw[reference], measured, &lesion.sd_hu);
    // Parenchyma ring around the lesion, other lesions excluded.
    const auto ring = parenchyma_ring(near, liver, all_lesions);
    for (std::size_t i = 0; i < phases.size(); ++i) {
      LesionPhaseMeasure m;
      m.phase = phases[i].phase;
      m.series_uid = phases[i].series_uid;
      m.mean_hu = mean_of(raw[i], measured, &m.sd_hu);
      m.liver_hu = ring.empty() ? parenchyma[i].median : median_of(smoothed[i], ring);
      if (!std::isfinite(m.mean_hu) || !std::isfinite(m.liver_hu)) continue;
      m.enhancement = m.mean_hu - m.liver_hu;
      std::size_t bright = 0, seen = 0;
      for (std::size_t p : measured) {
        if (smoothed[i].voxels[p] <= -1500.0f) continue;
        ++seen;
        bright += smoothed[i].voxels[p] > m.liver_hu + kEnhancedHu;
      }
      m.enhancing_fraction = seen ? double(bright) / seen : 0.0;
      lesion.phases.push_back(m);
    }
    classify(lesion, phases[reference].phase);
    for (std::size_t p : vox) {
      out.labels.at(p % nx + lo[0], (p / nx) % ny + lo[1], p / (nx * ny) + lo[2]) =
          static_cast<std::uint8_t>(lesion.number);
    }
    out.lesions.push_back(std::move(lesion));
  }
}

namespace {

// Candidates left out by each rule of the search, for its notes.
struct Rejections {
  std::size_t tubes = 0, surface = 0, surroundings = 0, fat = 0, clefts = 0, cava = 0, faint = 0,
              thin_ends = 0;
};

// The method text of the search and the notes of what it left out, into `out`.
void describe_search(Phase reference_phase, double reference_threshold,
                     std::optional<double> arterial_threshold, const Rejections& rejected,
                     std::size_t surface_lesions, LesionDetection& out) {
  std::ostringstream method;
  method.precision(0);
  method << std::fixed << "hypodense in the " << phase_name(reference_phase)
         << " phase by more than " << reference_threshold << " HU";
  if (arterial_threshold) {
    method << ", or hyperenhancing in the arterial phase by more than " << *arterial_threshold
           << " HU";
  }
  method << " (smoothed " << std::setprecision(1) << kSmoothingMm << std::setprecision(0)
         << " mm, against the parenchyma median); where the liver borders the lung the search "
            "reaches "
         << kLungSideReachMm
         << " mm beyond the liver mask (surface lesions), and elsewhere for dark lesions into the "
            "soft tissue of the liver's envelope (its closing by "
         << kEnvelopeMm
         << " mm, away from fat and fluid) where they are round; "
            "tubes and surface clefts, the thick "
            "ends of thin hypodense structures (fissures, ducts), candidates not surrounded by "
            "parenchyma (at least "
         << kMinSurroundingParenchyma * 100 << " % of a shell around them; "
         << kMinSurroundingParenchymaLarge * 100 << " % from " << kLargeLesionMl
         << " mL, which bulge out of the surface) and candidates not standing out from the "
            "parenchyma around them (its "
            "surface band left aside; darker in the reference and brighter in the arterial "
            "phase, added in units of each threshold) left out; boundary at half contrast, "
            "reaching at least the next slice, then moved on in the lesion's slices while the "
            "lesion goes on beyond it (against the parenchyma right around, away from the lung); "
            "candidates under "
         << std::setprecision(2) << kMinLesionMl << " mL ignored";
  out.method = method.str();
  const std::pair<std::size_t, const char*> counted[] = {
      {rejected.tubes, " vessel-like (elongated) candidate(s) left out"},
      {rejected.surroundings,
       " candidate(s) not surrounded by parenchyma left out (hilum, neighbouring organs)"},
      {rejected.faint, " candidate(s) not standing out from the parenchyma around them left out"},
      {rejected.cava, " candidate(s) at the inferior vena cava left out"},
      {rejected.fat, " fat-containing candidate(s) left out (fissures, hilum)"},
      {rejected.thin_ends,
       " hypodense candidate(s) at the end of a thin hypodense structure left out (fissures, "
       "ducts)"},
      {rejected.clefts, " flat or branching candidate(s) left out (clefts)"},
      {surface_lesions, " lesion(s) found at the surface, in the liver's envelope beyond its mask"},
      {rejected.surface,
       " hypodense candidate(s) along the liver surface left out (fissures, fat, gallbladder)"}};
  for (const auto& [n, what] : counted)
    if (n) out.notes.push_back(std::to_string(n) + what);
}

using Voxels = std::vector<std::size_t>;

// One search for the lesions of a liver: the maps its rules share (the search region, its
// surface band, the parenchyma a candidate is compared with, the candidates of each kind), cut
// to the liver's bounding box, and the rules themselves. `in_liver` finds the lesions inside the
// liver and at its surface against the lung, `in_envelope` those in the bites of its surface
// elsewhere, `merge_close` and `drop_flat` tidy what both found.
class LesionSearch {
 public:
  LesionSearch(const std::vector<AlignedPhase>& phases, std::size_t reference,
               const LabelMap& liver_full, const SpineLandmarks& spine,
               const LabelMap* cava_lumen_full, const Box& box);

  std::vector<Voxels> in_liver();
  void in_envelope(std::vector<Voxels>& kept);
  void merge_close(std::vector<Voxels>& kept) const;
  void drop_flat(std::vector<Voxels>& kept);
  void measure(const std::vector<Voxels>& kept, std::size_t surface_lesions,
               LesionDetection& out) const;

 private:
  double threshold(std::size_t i) const {
    return std::max(kMinContrastHu, kNoiseFactor * parenchyma_[i].sd);
  }
  double compactness(const Voxels& vox) const;
  std::vector<Voxels> compact_cores(const Voxels& vox) const;
  double parenchyma_fraction(const Voxels& vox, const LabelMap* within = nullptr) const;
  double min_surrounding_parenchyma(const Voxels& vox) const {
    return vox.size() * voxel_ml_ >= kLargeLesionMl ? kMinSurroundingParenchymaLarge
                                                    : kMinSurroundingParenchyma;
  }
  bool fatty(const Voxels& vox) const;
  bool stands_out_locally(const Voxels& vox) const;
  bool in_cava_zone(const Voxels& vox) const;
  void redraw(Voxels& vox, const LabelMap& within);

  const std::vector<AlignedPhase>& phases_;
  const std::size_t reference_;
  const SpineLandmarks& spine_;
  const LabelMap* cava_lumen_full_;
  const LabelMap& liver_full_;
  const Box box_;
  std::vector<Volume> raw_, smoothed_;
  std::vector<LabelMap> grown_;  // the liver mask dilated by kHullMm, kLungSideReachMm, kEnvelopeMm
  LabelMap liver_;               // the liver with the hollows of its surface closed, fat left out
  Geometry g_;
  LabelMap beside_air_, near_air_;
  LabelMap parenchyma_only_, region_, inner_, band_, ring_parenchyma_;
  std::vector<Robust> parenchyma_;
  int arterial_ = -1;
  LabelMap hypo_, hyper_, candidates_;
  double voxel_ml_ = 0.0, ordinary_ = 0.0;
  Rejections rejected_;
  LabelMap all_lesions_;
};

LesionSearch::LesionSearch(const std::vector<AlignedPhase>& phases, std::size_t reference,
                           const LabelMap& liver_full, const SpineLandmarks& spine,
                           const LabelMap* cava_lumen_full, const Box& box)
    : phases_(phases),
      reference_(reference),
      spine_(spine),
      cava_lumen_full_(cava_lumen_full),
      liver_full_(liver_full),
      box_(box) {
  for (const auto& ph : phases) crop_and_smooth(ph.volume, box, raw_, smoothed_);
  // The search region: the liver with the hollows of its surface closed, because a lesion at
  // the surface is often left out of the liver mask (it does not look like parenchyma) and is
  // part of the liver all the same. Fat in the hollows (fissures) stays out. Fat is a tissue,
  // not a voxel: specks of fat values smaller than kMinFatMl are noise (in thin slices the
  // noise of a cyst, near water, reaches fat values voxel by voxel, and the holes it would
  // leave break the cyst up).
  // The liver mask grown for the closing below and for the reach beyond it at the lung.
  grown_ = dilate_mm(crop(liver_full, box), {kHullMm, kLungSideReachMm, kEnvelopeMm});
  liver_ = [&] {
    LabelMap hull = erode_mm(grown_[0], kHullMm);
    const LabelMap fat = fat_within(raw_[reference], hull);
    for (std::size_t p = 0; p < hull.voxels.size(); ++p) hull.voxels[p] &= !fat.voxels[p];
    return hull;
  }();
  g_ = liver_.geometry;
  const Geometry& g = g_;
  // Where the liver borders the lung the search goes on into the soft tissue beyond its mask,
  // up to kLungSideReachMm: that is where a surface lesion is cut out of the mask. A thin band
  // of it (the diaphragm, partial volume with the lung) is taken out again by the opening
  // below.
  const LabelMap air = [&] {
    const Volume& hu = raw_[reference];
    LabelMap a(g, 0);
    for (std::size_t p = 0; p < a.voxels.size(); ++p)
      a.voxels[p] = hu.voxels[p] > -1500.0f && hu.voxels[p] < kAirHu;
    return a;
  }();
  auto air_dilated = dilate_mm(air, {kBesideAirMm, kLungSideReachMm});
  beside_air_ = std::move(air_dilated[0]);
  near_air_ = std::move(air_dilated[1]);
  // The parenchyma a lesion is compared with: the liver less its partial volume with the lung.
  parenchyma_only_ = liver_;
  for (std::size_t p = 0; p < parenchyma_only_.voxels.size(); ++p)
    parenchyma_only_.voxels[p] &= !beside_air_.voxels[p];
  region_ = [&] {
    const LabelMap& reach = grown_[1];
    LabelMap r = liver_;
    for (std::size_t p = 0; p < r.voxels.size(); ++p)
      r.voxels[p] |=
          reach.voxels[p] && near_air_.voxels[p] && smoothed_[reference].voxels[p] >= kSoftTissueHu;
    return r;
  }();
  auto eroded = erode_mm(region_, {2.0, 5.0, kSurfaceBandMm});
  inner_ = std::move(eroded[0]);
  const LabelMap deep = [&] {  // the liver's interior, away from any border of the search
    LabelMap d = std::move(eroded[1]);
    for (std::size_t p = 0; p < d.voxels.size(); ++p) d.voxels[p] &= liver_.voxels[p];
    return d;
  }();
  // The band along the surface of the search region: voxels whose centre lies within
  // kSurfaceBandMm of the surface, the surface lying half a voxel beyond the outermost voxel. The
  // erosion measures from voxel centre to voxel centre, close enough in-plane; across thick
  // slices it is not: the slab of the top or bottom slice of the liver there reaches what lies
  // above or below it.
  band_ = [&] {
    LabelMap b = std::move(eroded[2]);
    for (std::size_t p = 0; p < b.voxels.size(); ++p)
      b.voxels[p] = region_.voxels[p] && !b.voxels[p];
    const std::size_t slice = g.size[0] * g.size[1], slices = g.size[2];
    const auto reach = static_cast<std::size_t>(std::floor(kSurfaceBandMm / g.spacing[2] + 0.5));
    for (std::size_t p = 0; p < b.voxels.size(); ++p) {
      if (!region_.voxels[p] || b.voxels[p]) continue;
      const std::size_t k = p / slice;
      for (std::size_t n = 1; n <= reach && !b.voxels[p]; ++n)
        b.voxels[p] = (k < n || !region_.voxels[p - n * slice]) ||
                      (k + n >= slices || !region_.voxels[p + n * slice]);
    }
    return b;
  }();
  // The parenchyma a lesion is compared with right around it: without the partial volume of the
  // liver's surface with whatever lies beyond it (darker than the parenchyma in every phase).
  ring_parenchyma_ = parenchyma_only_;
  for (std::size_t p = 0; p < ring_parenchyma_.voxels.size(); ++p)
    ring_parenchyma_.voxels[p] &= !band_.voxels[p];

  for (const auto& s : smoothed_)
    parenchyma_.push_back(robust_stats(s, deep.voxels.empty() ? liver_ : deep));
  // The arterial phase hyperenhancing lesions are sought in: an aligned one, or the reference
  // itself when it is arterial (an arterial series alone, or no later phase in the study).
  for (std::size_t i = 0; i < phases.size(); ++i)
    if (phases[i].phase == Phase::kArterial && i != reference) arterial_ = static_cast<int>(i);
  if (arterial_ < 0 && phases[reference].phase == Phase::kArterial)
    arterial_ = static_cast<int>(reference);

  // Candidates: hypodense in the reference phase, or brighter than the parenchyma in the
  // arterial phase without staying vessel-bright in the reference phase.
  const Volume& ref = smoothed_[reference];
  hypo_ = LabelMap(g, 0);
  hyper_ = LabelMap(g, 0);
  for (std::size_t p = 0; p < inner_.voxels.size(); ++p) {
    if (!inner_.voxels[p]) continue;
    hypo_.voxels[p] = ref.voxels[p] < parenchyma_[reference].median - threshold(reference);
    if (arterial_ >= 0) {
      const float a = smoothed_[arterial_].voxels[p];
      // Vessel-bright in a later reference phase: a vessel. With the arterial phase as the
      // reference there is no later phase to tell: vessels go by their shape below.
      const bool vessel = arterial_ != static_cast<int>(reference) &&
                          ref.voxels[p] >= parenchyma_[reference].median + kVesselExcessHu;
      hyper_.voxels[p] =
          a > -1500.0f && a > parenchyma_[arterial_].median + threshold(arterial_) && !vessel;
    }
  }
  candidates_ = LabelMap(g, 0);
  for (std::size_t p = 0; p < candidates_.voxels.size(); ++p)
    candidates_.voxels[p] = hypo_.voxels[p] || hyper_.voxels[p];
  // Opening: noise specks, ducts and the thin fat of fissures go; lesions of 10 mm stay.
  {
    const double r = kOpeningMm;
    LabelMap opened = dilate_mm(erode_mm(candidates_, r), r);
    for (std::size_t p = 0; p < opened.voxels.size(); ++p)
      opened.voxels[p] &= candidates_.voxels[p];
    candidates_ = std::move(opened);
  }
  voxel_ml_ = g.voxel_volume_ml();
  ordinary_ = std::max(kMinContrastHu, kNoiseFactor * parenchyma_[reference].sd);
  all_lesions_ = LabelMap(g, 0);
}

double LesionSearch::compactness(const Voxels& vox) const {
  LesionResult probe;
  measure_recist(g_, vox, probe);
  const double d = probe.longest_diameter_mm;
  const double sphere_ml = M_PI / 6.0 * d * d * d / 1000.0;
  return sphere_ml > 0 ? vox.size() * voxel_ml_ / sphere_ml : 1.0;
}

// A lesion touching a duct, fissure or vessel makes one branching candidate: stronger openings
// split it into its compact cores, each rebuilt within the candidate (none: it stays whole).
std::vector<Voxels> LesionSearch::compact_cores(const Voxels& vox) const {
  std::vector<Voxels> cores;
  if (vox.size() * voxel_ml_ < kMinSplitMl || compactness(vox) >= kMinCompactness) return cores;
  const Neighbourhood near(g_, vox, 1.0);
  const LabelMap& m = near.mask();
  for (double r : kSplitRadiiMm) {
    std::vector<std::size_t> piece_sizes;
    const auto pieces = connected_components(erode_mm(m, r), &piece_sizes);
    for (std::size_t c = 1; c <= piece_sizes.size(); ++c) {
      LabelMap core(m.geometry, 0);
      for (std::size_t q = 0; q < pieces.voxels.size(); ++q) core.voxels[q] = pieces.voxels[q] == c;
      const LabelMap rebuilt = dilate_mm(core, r);
      Voxels piece;
      for (std::size_t p : vox)
        if (rebuilt.voxels[near.to_local(p)]) piece.push_back(p);
      if (piece.size() * voxel_ml_ >= kMinLesionMl && compactness(piece) >= kMinCompactness)
        cores.push_back(std::move(piece));
    }
    if (!cores.empty()) break;
  }
  return cores;
}

// `within`, when given: only the shell inside it counts (a tumour at the surface has what lies
// beyond the liver's envelope on one side).
double LesionSearch::parenchyma_fraction(const Voxels& vox, const LabelMap* within) const {
  const auto shell = Neighbourhood(g_, vox, kShellOuterMm).shell(kShellInnerMm, kShellOuterMm);
  const Volume& ref = smoothed_[reference_];
  // The lung beyond the surface says nothing either way: only the tissue around counts.
  std::size_t liver_like = 0, tissue = 0;
  for (std::size_t p : shell) {
    if (beside_air_.voxels[p] || (within && !within->voxels[p])) continue;
    ++tissue;
    liver_like +=
        liver_.voxels[p] && std::abs(ref.voxels[p] - parenchyma_[reference_].median) <= ordinary_;
  }
  return tissue == 0 ? 0.0 : double(liver_like) / tissue;
}

// Fat is fat in every phase: a candidate with fat in any aligned phase is a fissure or the hilum
// partly averaged with parenchyma, not a lesion.
bool LesionSearch::fatty(const Voxels& vox) const {
  return std::any_of(raw_.begin(), raw_.end(), [&](const Volume& phase) {
    std::size_t fat = 0;
    for (std::size_t p : vox) fat += phase.voxels[p] > -1500.0f && phase.voxels[p] < kFatHu;
    return fat > kMaxFatFraction * vox.size();
  });
}

// The global threshold is met against the parenchyma median of the whole liver; a lesion must
// also stand out from the parenchyma right around it, in the phase it was found in. Regional
// differences (arterial inflow varying between segments, beam hardening) pass the first test and
// fail this one.
bool LesionSearch::stands_out_locally(const Voxels& vox) const {
  const auto ring =
      parenchyma_ring(Neighbourhood(g_, vox, kRingOuterMm), ring_parenchyma_, candidates_);
  if (ring.size() < kMinInteriorVoxels) return true;  // nothing to compare with: keep
  const Volume& ref = smoothed_[reference_];
  const double hypo_contrast = median_of(ref, ring) - median_of(ref, vox);
  // Darker in the reference phase and brighter in the arterial phase than the parenchyma
  // around it: the two add up, each in units of its phase's threshold (a lesion that washes out
  // is partly seen in both).
  double evidence = std::max(0.0, hypo_contrast) / threshold(reference_);
  if (arterial_ >= 0) {
    const Volume& a = smoothed_[static_cast<std::size_t>(arterial_)];
    const double hyper_contrast = median_of(a, vox) - median_of(a, ring);
    evidence += std::max(0.0, hyper_contrast) / threshold(static_cast<std::size_t>(arterial_));
  }
  return evidence > 1.0;
}

bool LesionSearch::in_cava_zone(const Voxels& vox) const {
  if (!spine_.x || !spine_.anterior_y) return false;
  const Geometry& g = g_;
  Vec3 c{0, 0, 0};
  for (std::size_t p : vox) {
    const Vec3 pt =
        g.index_to_point(p % g.size[0], (p / g.size[0]) % g.size[1], p / (g.size[0] * g.size[1]));
    for (int a = 0; a < 3; ++a) c[a] += pt[a] / vox.size();
  }
  const double dx = c[0] - *spine_.x, dy = c[1] - *spine_.anterior_y;
  return dx > -kCavaRightMm && dx < kCavaLeftMm && dy > -kCavaFrontMm && dy < kCavaBackMm;
}

// Boundary at half contrast (redraw_at_half_contrast), against the parenchyma's median, in the
// phase where the lesion stands out most.
void LesionSearch::redraw(Voxels& vox, const LabelMap& within) {
  std::size_t best_phase = reference_;
  double best_contrast = 0;
  for (std::size_t i = 0; i < phases_.size(); ++i) {
    const double c = std::abs(median_of(smoothed_[i], vox) - parenchyma_[i].median);
    if (std::isfinite(c) && c / threshold(i) > best_contrast / threshold(best_phase)) {
      best_contrast = c;
      best_phase = i;
    }
  }
  // Growing on past the first step, never into the partial volume with the lung.
  auto grown = redraw_at_half_contrast(g_, vox, raw_[best_phase], parenchyma_[best_phase].median,
                                       kInteriorMm, within, all_lesions_, &near_air_);
  for (std::size_t p : grown) all_lesions_.voxels[p] = 1;
  vox = std::move(grown);
}

std::vector<Voxels> LesionSearch::in_liver() {
  const Geometry& g = g_;
  std::vector<std::size_t> sizes;
  const auto components = connected_components(candidates_, &sizes);
  std::vector<Voxels> members(sizes.size() + 1);
  for (std::size_t p = 0; p < components.voxels.size(); ++p)
    if (components.voxels[p]) members[components.voxels[p]].push_back(p);
  std::vector<std::size_t> origin;  // candidate each member came from (pieces of one lesion)
  {
    std::vector<Voxels> split;
    for (std::size_t l = 1; l < members.size(); ++l) {
      auto cores = compact_cores(members[l]);
      if (cores.empty()) cores.push_back(std::move(members[l]));
      for (auto& c : cores) {
        split.push_back(std::move(c));
        origin.push_back(l);
      }
    }
    members.assign(1, {});
    origin.insert(origin.begin(), 0);
    for (auto& v : split) members.push_back(std::move(v));
  }
  const bool enhanced_reference = phases_[reference_].phase != Phase::kNonContrast;
  std::vector<std::vector<Voxels>> kept_pieces;
  std::vector<std::size_t> kept_origin;
  for (std::size_t l = 1; l < members.size(); ++l) {
    const auto& vox = members[l];
    if (vox.size() * voxel_ml_ < kMinLesionMl) continue;
    if (elongation(g, vox) > kMaxElongation) {
      ++rejected_.tubes;
      continue;
    }
    if (in_cava_zone(vox)) {
      ++rejected_.cava;
      continue;
    }
    if (fatty(vox)) {
      ++rejected_.fat;
      continue;
    }
    if (compactness(vox) < kMinCompactness) {
      ++rejected_.clefts;
      continue;
    }
    std::size_t in_band = 0, hypo_count = 0;
    for (std::size_t p : vox) {
      in_band += band_.voxels[p];
      hypo_count += hypo_.voxels[p];
    }
    if (hypo_count * 2 > vox.size() && in_band > kMaxSurfaceFraction * vox.size()) {
      ++rejected_.surface;
      continue;
    }
    // The thick end of a thin hypodense structure (a fissure, a duct, partial volume with the
    // fat above a fissure across a thick slice) is part of that structure: more of it hangs on
    // the candidate than the candidate itself. Not before contrast, where every vessel is such
    // a structure and a lesion beside a vessel would go.
    if (enhanced_reference && hypo_count * 2 > vox.size() &&
        thin_attachment(g, vox, hypo_, candidates_) > vox.size()) {
      ++rejected_.thin_ends;
      continue;
    }
    // A lesion lies in parenchyma: most of a thin shell around it must be liver of ordinary
    // attenuation. Candidates in the hilum (fat, ducts, vessels) or at an organ the liver mask
    // touches are surrounded by other things. Large candidates need less of it (see
    // kMinSurroundingParenchymaLarge), large hypervascular ones none (see kLargeLesionMl).
    std::size_t hyper_count = 0;
    for (std::size_t p : vox) hyper_count += hyper_.voxels[p];
    const bool large_hypervascular =
        vox.size() * voxel_ml_ >= kLargeLesionMl && hyper_count * 2 >= vox.size();
    if (!large_hypervascular && parenchyma_fraction(vox) < min_surrounding_parenchyma(vox)) {
      ++rejected_.surroundings;
      continue;
    }
    if (!stands_out_locally(vox)) {
      ++rejected_.faint;
      continue;
    }
    // Pieces of one heterogeneous lesion, split above, are one lesion again.
    const auto same = std::find(kept_origin.begin(), kept_origin.end(), origin[l]);
    if (same != kept_origin.end()) {
      kept_pieces[same - kept_origin.begin()].push_back(vox);
    } else {
      kept_pieces.push_back({vox});
      kept_origin.push_back(origin[l]);
    }
  }
  // Unless the pieces together are flat: then they are separate lesions joined by a band of
  // hypodense tissue (two tumours and what lies between them), and joined they would all be
  // left out as a cleft. Each piece is then judged on its own.
  std::vector<Voxels> kept;
  for (auto& pieces : kept_pieces) {
    Voxels whole;
    for (const auto& piece : pieces) whole.insert(whole.end(), piece.begin(), piece.end());
    if (pieces.size() > 1 && compactness(whole) < kMinCompactness) {
      for (auto& piece : pieces) kept.push_back(std::move(piece));
    } else {
      kept.push_back(std::move(whole));
    }
  }
  for (auto& vox : kept) redraw(vox, region_);
  return kept;
}

// The second search (see kEnvelopeMm): dark candidates in the liver's envelope that lie mostly
// outside the first search's region, so that what the first search decided stays decided.
void LesionSearch::in_envelope(std::vector<Voxels>& kept) {
  const Geometry& g = g_;
  const Volume& ref = smoothed_[reference_];
  const LabelMap envelope = erode_mm(grown_[2], kEnvelopeMm);
  const LabelMap beside_fat = dilate_mm(fat_within(raw_[reference_], envelope), kBesideFatMm);
  LabelMap search = region_;
  for (std::size_t p = 0; p < search.voxels.size(); ++p)
    search.voxels[p] |= envelope.voxels[p] && !near_air_.voxels[p] && !beside_fat.voxels[p] &&
                        ref.voxels[p] >= kSoftTissueHu;
  const double dark_below = parenchyma_[reference_].median - threshold(reference_);
  LabelMap dark = erode_mm(search, 2.0);
  for (std::size_t p = 0; p < dark.voxels.size(); ++p)
    dark.voxels[p] &= !all_lesions_.voxels[p] && ref.voxels[p] < dark_below;
  {
    LabelMap opened = dilate_mm(erode_mm(dark, kOpeningMm), kOpeningMm);
    for (std::size_t p = 0; p < opened.voxels.size(); ++p) opened.voxels[p] &= dark.voxels[p];
    dark = std::move(opened);
  }
  const LabelMap cava_lumen = [&] {
    if (!cava_lumen_full_ || cava_lumen_full_->geometry.size != liver_full_.geometry.size)
      return LabelMap(g, 0);
    return dilate_mm(crop(*cava_lumen_full_, box_), kCavaWallMm);
  }();
  std::vector<std::size_t> dark_sizes;
  const auto dark_components = connected_components(dark, &dark_sizes);
  std::vector<Voxels> dark_members(dark_sizes.size() + 1);
  for (std::size_t p = 0; p < dark_components.voxels.size(); ++p)
    if (dark_components.voxels[p]) dark_members[dark_components.voxels[p]].push_back(p);
  std::vector<Voxels> bite_candidates;
  for (std::size_t l = 1; l < dark_members.size(); ++l) {
    auto cores = compact_cores(dark_members[l]);
    if (cores.empty()) cores.push_back(std::move(dark_members[l]));
    for (auto& c : cores) bite_candidates.push_back(std::move(c));
  }
  for (auto& vox : bite_candidates) {
    if (vox.size() * voxel_ml_ < kMinBiteMl) continue;
    std::size_t outside_region = 0, in_lumen = 0;
    for (std::size_t p : vox) {
      outside_region += !region_.voxels[p];
      in_lumen += cava_lumen.voxels[p];
    }
    if (outside_region < kMinBiteShare * vox.size()) continue;  // the first search's
    // Fluid (the gallbladder, bowel content) is not sought here.
    if (mean_of(raw_[reference_], vox) < kWaterMaxHu) continue;
    if (elongation(g, vox) > kMaxBiteElongation) {
      ++rejected_.tubes;
      continue;
    }
    if (in_lumen > kMaxLumenShare * vox.size() || in_cava_zone(vox)) {
      ++rejected_.cava;
      continue;
    }
    if (fatty(vox)) {
      ++rejected_.fat;
      continue;
    }
    if (compactness(vox) < kMinBiteCompactness) {
      ++rejected_.clefts;
      continue;
    }
    if (parenchyma_fraction(vox, &envelope) < min_surrounding_parenchyma(vox)) {
      ++rejected_.surroundings;
      continue;
    }
    if (!stands_out_locally(vox)) {
      ++rejected_.faint;
      continue;
    }
    redraw(vox, search);
    if (vox.size() * voxel_ml_ >= kMinLesionMl) kept.push_back(std::move(vox));
  }
}

// Lesions closer than a vessel's width are one lesion: a vessel crossing a tumour splits its
// candidate in two. The pieces are joined and the gap between them closed, within the liver.
void LesionSearch::merge_close(std::vector<Voxels>& kept) const {
  const Geometry& g = g_;
  Image<std::uint32_t> owner(g, 0);
  std::vector<std::size_t> parent(kept.size() + 1);
  for (std::size_t n = 0; n < parent.size(); ++n) parent[n] = n;
  auto find = [&](std::size_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  for (std::size_t n = 0; n < kept.size(); ++n) {
    const Neighbourhood near(g, kept[n], kMergeGapMm);
    for (std::size_t p : near.voxels(dilate_mm(near.mask(), 0.5 * kMergeGapMm))) {
      const std::uint32_t other = owner.voxels[p];
      if (other && other != n + 1) parent[find(other)] = find(n + 1);
      owner.voxels[p] = static_cast<std::uint32_t>(n + 1);
    }
  }
  std::map<std::size_t, std::vector<std::size_t>> groups;
  for (std::size_t n = 0; n < kept.size(); ++n) groups[find(n + 1)].push_back(n);
  std::vector<Voxels> lesions = std::move(kept);
  kept.clear();
  for (const auto& [root, members] : groups) {
    Voxels vox;
    for (std::size_t n : members) vox.insert(vox.end(), lesions[n].begin(), lesions[n].end());
    if (members.size() > 1) {
      const Neighbourhood near(g, vox, kMergeGapMm);
      const double r = 0.5 * kMergeGapMm + 0.5;
      LabelMap joined = erode_mm(dilate_mm(near.mask(), r), r);
      for (std::size_t q = 0; q < joined.voxels.size(); ++q) {
        const std::size_t p = near.to_global(q);
        if (joined.voxels[q] && !near.mask().voxels[q] && region_.voxels[p]) vox.push_back(p);
      }
      // Round lesions side by side that together would be flat stay apart (see in_liver).
      const bool each_round = std::all_of(members.begin(), members.end(), [&](std::size_t n) {
        return compactness(lesions[n]) >= kMinCompactness;
      });
      if (each_round && compactness(vox) < kMinCompactness) {
        for (std::size_t n : members)
          if (lesions[n].size() * voxel_ml_ >= kMinLesionMl) kept.push_back(std::move(lesions[n]));
        continue;
      }
    }
    if (vox.size() * voxel_ml_ >= kMinLesionMl) kept.push_back(std::move(vox));
  }
}

// Redrawn, a candidate may turn out flat or branching after all (a cleft or duct beside the
// hilum): the same measure as for the candidates leaves it out.
void LesionSearch::drop_flat(std::vector<Voxels>& kept) {
  kept.erase(std::remove_if(kept.begin(), kept.end(),
                            [&](const Voxels& vox) {
                              const bool flat = compactness(vox) < kMinCompactness;
                              rejected_.clefts += flat;
                              return flat;
                            }),
             kept.end());
}

void LesionSearch::measure(const std::vector<Voxels>& kept, std::size_t surface_lesions,
                           LesionDetection& out) const {
  measure_lesions(phases_, reference_, box_.lo, parenchyma_only_, raw_, smoothed_, parenchyma_,
                  all_lesions_, kept, out);
  describe_search(phases_[reference_].phase, threshold(reference_),
                  arterial_ >= 0
                      ? std::optional<double>(threshold(static_cast<std::size_t>(arterial_)))
                      : std::nullopt,
                  rejected_, surface_lesions, out);
}

}  // namespace

LesionDetection detect_lesions(const std::vector<AlignedPhase>& phases, std::size_t reference,
                               const LabelMap& liver_full, const SpineLandmarks& spine,
                               const LabelMap* cava_lumen_full) {
  LesionDetection out;
  out.labels = LabelMap(liver_full.geometry, 0);
  // Work inside the liver's bounding box, with room for its envelope.
  const Box box = bounding_box(liver_full, std::max({kHullMm, kLungSideReachMm, kEnvelopeMm}));
  if (box.empty()) return out;
  LesionSearch search(phases, reference, liver_full, spine, cava_lumen_full, box);
  auto kept = search.in_liver();
  const std::size_t first_search_lesions = kept.size();
  search.in_envelope(kept);
  const std::size_t surface_lesions = kept.size() - first_search_lesions;
  search.merge_close(kept);
  search.drop_flat(kept);
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  search.measure(kept, surface_lesions, out);
  return out;
}

LesionDetection measure_given_lesions(const std::vector<AlignedPhase>& phases,
                                      std::size_t reference, const LabelMap& liver_full,
                                      const std::vector<LabelMap>& lesions) {
  LesionDetection out;
  out.labels = LabelMap(liver_full.geometry, 0);
  out.method = "drawn or corrected by hand; measured like detected lesions";
  // Work inside the box of the liver and the lesions (a lesion may reach beyond the liver).
  LabelMap either = liver_full;
  for (const auto& m : lesions) {
    if (m.voxels.size() != either.voxels.size()) continue;
    for (std::size_t p = 0; p < m.voxels.size(); ++p) either.voxels[p] |= m.voxels[p] != 0;
  }
  const Box box = bounding_box(either, kRingOuterMm + 2.0);
  if (box.empty()) return out;
  const LabelMap liver = crop(liver_full, box);
  const LabelMap deep = erode_mm(liver, 5.0);
  std::vector<Volume> raw, smoothed;
  std::vector<Robust> parenchyma;
  for (const auto& ph : phases) {
    crop_and_smooth(ph.volume, box, raw, smoothed);
    LabelMap parenchyma_mask = deep.voxels.empty() ? liver : deep;
    bool any = false;
    for (auto v : parenchyma_mask.voxels) any = any || v;
    if (!any) parenchyma_mask = liver;
    parenchyma.push_back(robust_stats(smoothed.back(), parenchyma_mask));
  }
  LabelMap all_lesions(liver.geometry, 0);
  std::vector<std::vector<std::size_t>> kept;
  std::size_t left_out = 0;
  for (const auto& m : lesions) {
    if (m.voxels.size() != liver_full.voxels.size()) {
      ++left_out;
      continue;
    }
    const LabelMap local = crop(m, box);
    std::vector<std::size_t> vox;
    for (std::size_t q = 0; q < local.voxels.size(); ++q) {
      if (!local.voxels[q] || all_lesions.voxels[q]) continue;  // overlaps go to the first
      vox.push_back(q);
      all_lesions.voxels[q] = 1;
    }
    if (vox.empty()) {
      ++left_out;
      continue;
    }
    kept.push_back(std::move(vox));
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  measure_lesions(phases, reference, box.lo, liver, raw, smoothed, parenchyma, all_lesions, kept,
                  out);
  if (left_out) out.notes.push_back(std::to_string(left_out) + " empty lesion segment(s) left out");
  return out;
}

}  // namespace livernode::processing::detail
