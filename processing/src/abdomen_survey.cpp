#include "abdomen_survey.h"

#include <itkBinShrinkImageFilter.h>
#include <itkSmoothingRecursiveGaussianImageFilter.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "itk_bridge.h"
#include "mask_ops.h"
#include "median.h"

namespace livernode::processing::detail {

namespace {

// Physical x (per i) and y (per j) of an axial grid.
void axial_coordinates(const Geometry& g, std::vector<double>& xs, std::vector<double>& ys) {
  xs.resize(g.size[0]);
  ys.resize(g.size[1]);
  for (std::size_t i = 0; i < g.size[0]; ++i) xs[i] = g.index_to_point(i, 0, 0)[0];
  for (std::size_t j = 0; j < g.size[1]; ++j) ys[j] = g.index_to_point(0, j, 0)[1];
}

// The right lung's base and the craniocaudal band of the liver under it. The lungs are the air
// inside the body (below -400 HU after smoothing) in connected parts of at least 50 mL that
// reach highest (bowel and stomach gas lie below the diaphragm); the right lung is the one of
// them with the most air right of the midline. Its base is the lowest level with 10 cm² of it on
// the right. Anatomy places the liver's dome a few centimetres above that level (the costophrenic
// recess reaches below the dome) and the liver 12-20 cm below its dome.
constexpr double kLungMinMl = 50.0;
constexpr double kLungBaseMinMm2 = 1000.0;
constexpr double kLungTopToleranceMm = 20.0;
constexpr double kBandAboveBaseMm = 80.0;   // the dome, with room for a high diaphragm
constexpr double kBandBelowBaseMm = 200.0;  // the liver's lowest part (hepatomegaly included)
constexpr double kBandBelowTopMm = 250.0;   // no lung: the liver lies below the series' top
// The right upper quadrant whose soft tissue is the liver: from just above the lung base (the
// dome beside the recess) to 12 cm below it.
constexpr double kQuadrantAboveBaseMm = 20.0;
constexpr double kQuadrantBelowBaseMm = 120.0;

void locate_liver_band(AbdomenSurvey& s, const std::vector<double>& xs) {
  const Geometry& g = s.coarse.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  const double midline = s.spine_x.value_or(s.body_centre_x);
  std::vector<double> zs(nz);
  for (std::size_t k = 0; k < nz; ++k) zs[k] = g.index_to_point(0, 0, static_cast<double>(k))[2];
  LabelMap air(g, 0);
  for (std::size_t p = 0; p < air.voxels.size(); ++p)
    air.voxels[p] = s.body.voxels[p] && s.coarse.voxels[p] < -400.0f;
  std::vector<std::size_t> sizes;
  const auto cc = connected_components(air, &sizes);
  // Per component: the highest level it reaches, and its right-sided area per slice.
  const std::size_t n_cc = sizes.size();
  std::vector<double> top(n_cc + 1, -1e9);
  std::vector<std::vector<std::size_t>> right_area(n_cc + 1);
  for (std::size_t k = 0; k < nz; ++k)
    for (std::size_t j = 0; j < ny; ++j)
      for (std::size_t i = 0; i < nx; ++i) {
        const std::uint32_t l = cc.at(i, j, k);
        if (l == 0 || sizes[l - 1] * g.voxel_volume_ml() < kLungMinMl) continue;
        top[l] = std::max(top[l], zs[k]);
        if (xs[i] < midline) {
          if (right_area[l].empty()) right_area[l].assign(nz, 0);
          ++right_area[l][k];
        }
      }
  // Of the parts reaching (nearly) as high as the highest, the right lung holds the most air
  // right of the midline (the left lung, with the stomach's gas below it, may reach as high).
  double highest = -1e9;
  std::vector<std::size_t> right_total(n_cc + 1, 0);
  for (std::uint32_t l = 1; l <= n_cc; ++l) {
    if (right_area[l].empty()) continue;
    highest = std::max(highest, top[l]);
    for (std::size_t a : right_area[l]) right_total[l] += a;
  }
  std::uint32_t lung = 0;
  for (std::uint32_t l = 1; l <= n_cc; ++l) {
    if (right_area[l].empty() || top[l] < highest - kLungTopToleranceMm) continue;
    if (lung == 0 || right_total[l] > right_total[lung]) lung = l;
  }
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];
  std::optional<double> base;
  if (lung != 0) {
    for (std::size_t k = 0; k < nz; ++k)
      if (right_area[lung][k] * pixel_mm2 >= kLungBaseMinMm2 && (!base || zs[k] < *base))
        base = zs[k];
  }
  std::ostringstream note;
  note.precision(0);
  note << std::fixed;
  if (base) {
    s.right_lung_base_z = base;
    s.liver_band_low_z = *base - kBandBelowBaseMm;
    s.liver_band_high_z = *base + kBandAboveBaseMm;
    note << "right lung base at z " << *base << " mm; liver sought from " << s.liver_band_low_z
         << " to " << s.liver_band_high_z << " mm";
  } else {
    const double series_top = *std::max_element(zs.begin(), zs.end());
    s.liver_band_high_z = series_top + kBandAboveBaseMm;
    s.liver_band_low_z = series_top - kBandBelowTopMm;
    note << "no lung in the series; liver sought within " << kBandBelowTopMm
         << " mm below its top (z " << series_top << " mm)";
  }
  s.region_note = note.str();
}

}  // namespace

Volume coarse_smoothed(const Volume& volume, double target_mm) {
  auto image = to_itk(volume);
  auto shrink = itk::BinShrinkImageFilter<FloatImage, FloatImage>::New();
  shrink->SetInput(image);
  for (unsigned a = 0; a < 3; ++a) {
    const double s = volume.geometry.spacing[a];
    // At least the target (a little less is fine): a finer grid costs time, not accuracy.
    const unsigned f = std::max(1u, static_cast<unsigned>(std::ceil(target_mm / s - 0.2)));
    shrink->SetShrinkFactor(
        a, a == 2 ? std::max(1u, static_cast<unsigned>(std::lround(target_mm * 1.25 / s))) : f);
  }
  auto smooth = itk::SmoothingRecursiveGaussianImageFilter<FloatImage, FloatImage>::New();
  smooth->SetInput(shrink->GetOutput());
  smooth->SetSigma(1.5);
  smooth->Update();
  return from_itk<float>(smooth->GetOutput());
}

AbdomenSurvey survey_abdomen(const Volume& volume) {
  AbdomenSurvey s;
  const auto& dir = volume.geometry.direction;
  s.axial = std::abs(dir[8]) > 0.95;
  s.coarse = coarse_smoothed(volume, 2.0);
  const Geometry& g = s.coarse.geometry;
  const auto nx = g.size[0], ny = g.size[1], nz = g.size[2];

  // Body: everything denser than -400 HU, the largest connected part, holes filled per slice.
  LabelMap dense(g, 0);
  for (std::size_t p = 0; p < dense.voxels.size(); ++p) dense.voxels[p] = s.coarse.voxels[p] > -400;
  std::vector<std::size_t> sizes;
  const auto cc = connected_components(dense, &sizes);
  s.body = LabelMap(g, 0);
  for (std::size_t p = 0; p < cc.voxels.size(); ++p) s.body.voxels[p] = cc.voxels[p] == 1;
  fill_holes_per_slice(s.body);
  if (!s.axial || count(s.body) == 0) return s;

  std::vector<double> xs, ys;
  axial_coordinates(g, xs, ys);
  double sx = 0, sy = 0;
  std::size_t n = 0;
  for (std::size_t k = 0; k < nz; ++k)
    for (std::size_t j = 0; j < ny; ++j)
      for (std::size_t i = 0; i < nx; ++i)
        if (s.body.at(i, j, k)) {
          sx += xs[i];
          sy += ys[j];
          ++n;
        }
  s.body_centre_x = sx / n;
  s.body_centre_y = sy / n;

  // Spine and aorta, slice by slice.
  std::vector<double> spine_x, spine_front, aorta;
  for (std::size_t k = 0; k < nz; ++k) {
    double minx = 1e9, maxx = -1e9, miny = 1e9, maxy = -1e9;
    for (std::size_t j = 0; j < ny; ++j)
      for (std::size_t i = 0; i < nx; ++i)
        if (s.body.at(i, j, k)) {
          minx = std::min(minx, xs[i]);
          maxx = std::max(maxx, xs[i]);
          miny = std::min(miny, ys[j]);
          maxy = std::max(maxy, ys[j]);
        }
    if (maxx - minx < 150 || maxy - miny < 100) continue;  // not a trunk slice
    const double cx = 0.5 * (minx + maxx), cy = 0.5 * (miny + maxy);
    const double width = maxx - minx, height = maxy - miny;
    // Bone in the posterior central strip: the vertebra.
    double bx = 0;
    std::size_t nb = 0;
    std::vector<double> bone_y;
    for (std::size_t j = 0; j < ny; ++j) {
      if (ys[j] < cy + 0.05 * height) continue;
      for (std::size_t i = 0; i < nx; ++i) {
        if (std::abs(xs[i] - cx) > 0.12 * width) continue;
        if (s.coarse.at(i, j, k) > 350) {
          bx += xs[i];
          ++nb;
          bone_y.push_back(ys[j]);
        }
      }
    }
    if (nb < 10) continue;
    bx /= nb;
    std::sort(bone_y.begin(), bone_y.end());
    spine_x.push_back(bx);
    spine_front.push_back(bone_y[bone_y.size() / 20]);
    // Aorta: in front of the vertebra, the brightest homogeneous disc (lumen) that stands out
    // from its ring of surroundings. Bone (cortex) and inhomogeneous bowel fail the test.
    const double spine_y = bone_y[bone_y.size() / 2];
    const double px = g.spacing[0], py = g.spacing[1];
    const int inner = std::max(1, static_cast<int>(std::lround(6.0 / px)));
    const int ring_in = static_cast<int>(std::lround(13.0 / px));
    const int ring_out = static_cast<int>(std::lround(18.0 / px));
    double best = -1e9;
    for (std::size_t j = 0; j < ny; ++j) {
      if (ys[j] < spine_y - 100 || ys[j] > spine_y - 45)
        continue;  // anterior to the vertebral body
      for (std::size_t i = 0; i < nx; ++i) {
        if (xs[i] < bx - 25 || xs[i] > bx + 50) continue;
        double sum = 0, sum2 = 0, ring = 0;
        std::size_t n_in = 0, n_ring = 0;
        bool bone = false;
        for (int dj = -ring_out; dj <= ring_out && !bone; ++dj) {
          for (int di = -ring_out; di <= ring_out; ++di) {
            const long ii = static_cast<long>(i) + di, jj = static_cast<long>(j) + dj;
            if (ii < 0 || jj < 0 || ii >= static_cast<long>(nx) || jj >= static_cast<long>(ny))
              continue;
            const double r = std::hypot(di * px, dj * py) / px;
            const double v = s.coarse.at(ii, jj, k);
            if (r <= inner) {
              if (v > 600) {
                bone = true;
                break;
              }
              sum += v;
              sum2 += v * v;
              ++n_in;
            } else if (r >= ring_in && r <= ring_out) {
              ring += v;
              ++n_ring;
            }
          }
        }
        if (bone || n_in == 0 || n_ring == 0) continue;
        const double mean = sum / n_in;
        const double sd = std::sqrt(std::max(0.0, sum2 / n_in - mean * mean));
        if (sd > 25.0 || mean - ring / n_ring < 20.0 || mean < 0.0) continue;
        best = std::max(best, mean);
      }
    }
    if (best > -1e8) aorta.push_back(best);
  }
  if (!spine_x.empty()) {
    s.spine_x = median(spine_x);
    s.spine_anterior_y = median(spine_front);
  }
  if (aorta.size() >= 3) s.aorta_hu = median(aorta);

  locate_liver_band(s, xs);

  // Soft tissue of the right upper quadrant: patient right of the spine, anterior to it, below
  // the right lung's base (where the liver fills it) or, without a lung, in the band.
  const double split_x = s.spine_x.value_or(s.body_centre_x) - 20.0;
  const double back_y = s.spine_anterior_y.value_or(s.body_centre_y + 40.0);
  std::vector<std::size_t> histogram(60, 0);  // 4 HU bins from -20 to 220
  const double quadrant_high_z =
      s.right_lung_base_z ? *s.right_lung_base_z + kQuadrantAboveBaseMm : s.liver_band_high_z;
  const double quadrant_low_z = s.right_lung_base_z
                                    ? *s.right_lung_base_z - kQuadrantBelowBaseMm
                                    : s.liver_band_high_z - kBandAboveBaseMm - kQuadrantBelowBaseMm;
  for (std::size_t k = 0; k < nz; ++k) {
    const double z = g.index_to_point(0, 0, static_cast<double>(k))[2];
    if (z < quadrant_low_z || z > quadrant_high_z) continue;
    for (std::size_t j = 0; j < ny; ++j) {
      if (ys[j] > back_y) continue;
      for (std::size_t i = 0; i < nx; ++i) {
        if (xs[i] > split_x || !s.body.at(i, j, k)) continue;
        const float v = s.coarse.at(i, j, k);
        if (v < -20 || v >= 220) continue;
        ++histogram[static_cast<std::size_t>((v + 20) / 4)];
      }
    }
  }
  std::size_t best_bin = 0;
  double best_count = -1;
  for (std::size_t b = 0; b < histogram.size(); ++b) {
    const double c = histogram[b] + 0.5 * ((b > 0 ? histogram[b - 1] : 0) +
                                           (b + 1 < histogram.size() ? histogram[b + 1] : 0));
    if (c > best_count) {
      best_count = c;
      best_bin = b;
    }
  }
  if (best_count > 0) s.right_upper_quadrant_mode_hu = -20.0 + 4.0 * best_bin + 2.0;
  return s;
}

}  // namespace livernode::processing::detail
