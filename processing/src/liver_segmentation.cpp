#include "liver_segmentation.h"

#include <itkSmoothingRecursiveGaussianImageFilter.h>

#include <cmath>

#include "itk_bridge.h"
#include "mask_ops.h"

namespace livernode::processing::detail {

namespace {

constexpr double kWindowBelow = 40.0;  // HU below the parenchyma mode still taken as liver
constexpr double kWindowAbove = 45.0;
constexpr double kOpeningMm = 7.0;     // cuts bridges to heart, stomach, spleen, muscle
constexpr double kClosingMm = 10.0;    // takes in vessels and lesions at the surface
constexpr double kBandMm = 3.0;        // boundary band re-decided at full resolution

Volume gaussian(const Volume& v, double sigma_mm) {
  auto f = itk::SmoothingRecursiveGaussianImageFilter<FloatImage, FloatImage>::New();
  f->SetInput(to_itk(v));
  f->SetSigma(sigma_mm);
  f->Update();
  return from_itk<float>(f->GetOutput());
}

LabelMap keep_component(const Image<std::uint32_t>& labels, std::uint32_t keep) {
  LabelMap out(labels.geometry, 0);
  for (std::size_t p = 0; p < labels.voxels.size(); ++p) out.voxels[p] = labels.voxels[p] == keep;
  return out;
}

LabelMap largest_component(const LabelMap& mask) {
  return keep_component(connected_components(mask, nullptr), 1);
}

}  // namespace

LiverSegmentation segment_liver(const Volume& volume, const AbdomenSurvey& survey) {
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
  LabelMap window(g, 0);
  for (std::size_t p = 0; p < window.voxels.size(); ++p) {
    const float v = coarse.voxels[p];
    window.voxels[p] = survey.body.voxels[p] && v >= result.window_low_hu && v <= result.window_high_hu;
  }
  // 2. Opening core; the largest component lying right of the spine is the liver.
  const LabelMap core = erode_mm(window, kOpeningMm);
  std::vector<std::size_t> sizes;
  const auto labels = connected_components(core, &sizes);
  std::vector<double> sum_x(sizes.size() + 1, 0.0);
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const auto l = labels.at(i, j, k);
        if (l) sum_x[l] += g.index_to_point(i, j, k)[0];
      }
  const double midline = survey.spine_x.value_or(survey.body_centre_x);
  std::uint32_t chosen = 0;
  for (std::uint32_t l = 1; l <= sizes.size() && l <= 10; ++l) {
    if (sum_x[l] / sizes[l - 1] < midline) {
      chosen = l;
      break;
    }
  }
  if (chosen == 0 && !sizes.empty()) chosen = 1;
  if (chosen == 0) {
    result.failure = "no liver-like region survived the opening";
    return result;
  }
  // 3. Grow back to the window (reconstruction by dilation), then close and fill.
  LabelMap liver = dilate_mm(keep_component(labels, chosen), kOpeningMm + 1.0);
  for (std::size_t p = 0; p < liver.voxels.size(); ++p) liver.voxels[p] &= window.voxels[p];
  liver = erode_mm(dilate_mm(liver, kClosingMm), kClosingMm);
  for (std::size_t p = 0; p < liver.voxels.size(); ++p) {
    liver.voxels[p] &= survey.body.voxels[p] && coarse.voxels[p] > -30.0f;
  }
  fill_holes_per_slice(liver);
  liver = largest_component(liver);

  // 4. Full resolution: the interior is kept, the boundary band follows the window.
  const LabelMap coarse_full = resample_nearest(liver, volume.geometry);
  const LabelMap interior = erode_mm(coarse_full, kBandMm);
  const LabelMap outer = dilate_mm(coarse_full, kBandMm);
  const Volume smooth = gaussian(volume, 1.0);
  LabelMap fine(volume.geometry, 0);
  for (std::size_t p = 0; p < fine.voxels.size(); ++p) {
    if (interior.voxels[p]) {
      fine.voxels[p] = 1;
    } else if (outer.voxels[p]) {
      const float v = smooth.voxels[p];
      fine.voxels[p] = v >= result.window_low_hu && v <= result.window_high_hu;
    }
  }
  fill_holes_per_slice(fine);
  fine = largest_component(erode_mm(dilate_mm(fine, 2.0), 2.0));
  fill_holes_per_slice(fine);

  result.mask = std::move(fine);
  const std::size_t n = count(result.mask);
  result.volume_ml = n * volume.geometry.voxel_volume_ml();
  double sum = 0;
  for (std::size_t p = 0; p < result.mask.voxels.size(); ++p) {
    if (result.mask.voxels[p]) sum += volume.voxels[p];
  }
  result.mean_hu = n ? sum / n : 0.0;
  if (n == 0) result.failure = "the liver mask is empty";
  return result;
}

}  // namespace livernode::processing::detail
