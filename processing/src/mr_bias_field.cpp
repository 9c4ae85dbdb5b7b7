#include "mr_bias_field.h"

#include <itkBSplineControlPointImageFilter.h>
#include <itkBinShrinkImageFilter.h>
#include <itkN4BiasFieldCorrectionImageFilter.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "itk_bridge.h"
#include "mask_ops.h"
#include "median.h"

namespace livernode::processing::detail {

namespace {

// N4 at three resolutions of its B-spline (4, 8, 16 control points a side), 20 iterations each.
constexpr unsigned kFittingLevels = 3;
constexpr unsigned kIterationsPerLevel = 20;

// Linear interpolation of `coarse` at the patient point of full-grid voxel (i, j, k), indices
// clamped to the coarse grid (the field is smooth, its edge value holds beyond it).
float sample_clamped(const Volume& coarse, const Vec3& point) {
  const Geometry& g = coarse.geometry;
  const Vec3 c = g.point_to_index(point);
  std::size_t lo[3];
  double w[3];
  for (int a = 0; a < 3; ++a) {
    const double hi = static_cast<double>(g.size[a] - 1);
    const double x = std::clamp(c[a], 0.0, hi);
    lo[a] = static_cast<std::size_t>(std::floor(x));
    if (lo[a] + 1 > g.size[a] - 1) lo[a] = g.size[a] > 1 ? g.size[a] - 2 : 0;
    w[a] = g.size[a] > 1 ? x - static_cast<double>(lo[a]) : 0.0;
  }
  double v = 0.0;
  for (int dk = 0; dk < 2; ++dk)
    for (int dj = 0; dj < 2; ++dj)
      for (int di = 0; di < 2; ++di) {
        const std::size_t i = std::min(lo[0] + di, g.size[0] - 1);
        const std::size_t j = std::min(lo[1] + dj, g.size[1] - 1);
        const std::size_t k = std::min(lo[2] + dk, g.size[2] - 1);
        const double weight =
            (di ? w[0] : 1 - w[0]) * (dj ? w[1] : 1 - w[1]) * (dk ? w[2] : 1 - w[2]);
        v += weight * coarse.at(i, j, k);
      }
  return static_cast<float>(v);
}

}  // namespace

LabelMap mr_body_mask(const Volume& coarse) {
  LabelMap body(coarse.geometry, 0);
  if (coarse.voxels.empty()) return body;
  std::vector<float> sorted = coarse.voxels;
  const auto at98 = sorted.begin() + static_cast<std::ptrdiff_t>(0.98 * (sorted.size() - 1));
  std::nth_element(sorted.begin(), at98, sorted.end());
  const float threshold = 0.1f * *at98;
  LabelMap bright(coarse.geometry, 0);
  for (std::size_t p = 0; p < bright.voxels.size(); ++p)
    bright.voxels[p] = coarse.voxels[p] > threshold;
  std::vector<std::size_t> sizes;
  const auto cc = connected_components(bright, &sizes);
  for (std::size_t p = 0; p < cc.voxels.size(); ++p) body.voxels[p] = cc.voxels[p] == 1;
  fill_holes_per_slice(body);
  return body;
}

BiasCorrection correct_bias_field(const Volume& volume, double coarse_mm) {
  BiasCorrection out;
  out.coarse_mm = coarse_mm;
  auto image = to_itk(volume);
  auto shrink = itk::BinShrinkImageFilter<FloatImage, FloatImage>::New();
  shrink->SetInput(image);
  for (unsigned a = 0; a < 3; ++a) {
    const double s = volume.geometry.spacing[a];
    shrink->SetShrinkFactor(a, std::max(1u, static_cast<unsigned>(std::lround(coarse_mm / s))));
  }
  shrink->Update();
  Volume coarse = from_itk<float>(shrink->GetOutput());
  const LabelMap body = mr_body_mask(coarse);
  if (count(body) < 100) {
    out.corrected = volume;
    return out;
  }
  // N4 works on the logarithm: every value must be positive.
  for (float& v : coarse.voxels) v = std::max(v, 1.0f);
  auto coarse_itk = to_itk(coarse);
  auto mask_itk = to_itk(body);

  using Corrector = itk::N4BiasFieldCorrectionImageFilter<FloatImage, MaskImage, FloatImage>;
  auto n4 = Corrector::New();
  n4->SetInput(coarse_itk);
  n4->SetMaskImage(mask_itk);
  n4->SetMaskLabel(1);
  n4->SetNumberOfFittingLevels(kFittingLevels);
  Corrector::VariableSizeArrayType iterations(kFittingLevels);
  iterations.Fill(kIterationsPerLevel);
  n4->SetMaximumNumberOfIterations(iterations);
  n4->SetConvergenceThreshold(1e-3);
  n4->SetNumberOfWorkUnits(1);  // the analysis runs two series at once, one per core
  n4->Update();

  // The log field from its B-spline control points, on the coarse grid.
  using Lattice = Corrector::BiasFieldControlPointLatticeType;
  using FieldImage = itk::Image<itk::Vector<float, 1>, 3>;
  auto bspline = itk::BSplineControlPointImageFilter<Lattice, FieldImage>::New();
  bspline->SetInput(n4->GetLogBiasFieldControlPointLattice());
  bspline->SetSplineOrder(n4->GetSplineOrder());
  bspline->SetSize(coarse_itk->GetLargestPossibleRegion().GetSize());
  bspline->SetOrigin(coarse_itk->GetOrigin());
  bspline->SetSpacing(coarse_itk->GetSpacing());
  bspline->SetDirection(coarse_itk->GetDirection());
  bspline->Update();
  Volume field(coarse.geometry, 1.0f);
  const auto* log_field = bspline->GetOutput()->GetBufferPointer();
  for (std::size_t p = 0; p < field.voxels.size(); ++p) field.voxels[p] = std::exp(log_field[p][0]);

  // Scaled to a median of 1 inside the body: the correction keeps the series' signal scale.
  std::vector<float> inside;
  for (std::size_t p = 0; p < field.voxels.size(); ++p)
    if (body.voxels[p]) inside.push_back(field.voxels[p]);
  const double mid = median(inside);
  if (!(mid > 0.0)) throw std::runtime_error("bias field estimate is not positive");
  for (float& v : field.voxels) v = static_cast<float>(v / mid);
  std::sort(inside.begin(), inside.end());
  out.field_low = inside[inside.size() / 100] / mid;
  out.field_high = inside[inside.size() - 1 - inside.size() / 100] / mid;

  out.corrected = Volume(volume.geometry, 0.0f);
  const Geometry& g = volume.geometry;
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const float f =
            sample_clamped(field, g.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                                   static_cast<double>(k)));
        out.corrected.at(i, j, k) = volume.at(i, j, k) / std::max(f, 0.05f);
      }
  return out;
}

}  // namespace livernode::processing::detail
