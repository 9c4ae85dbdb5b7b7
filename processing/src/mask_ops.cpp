#include "mask_ops.h"

#include <itkConnectedComponentImageFilter.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkRelabelComponentImageFilter.h>
#include <itkResampleImageFilter.h>
#include <itkSignedMaurerDistanceMapImageFilter.h>
#include <itkSmoothingRecursiveGaussianImageFilter.h>

#include <algorithm>
#include <deque>

#include "image_crop.h"
#include "itk_bridge.h"

namespace livernode::processing::detail {

namespace {

// Signed Euclidean distance (mm) to the mask boundary: negative inside, positive outside.
Volume signed_distance(const LabelMap& mask) {
  using Filter = itk::SignedMaurerDistanceMapImageFilter<MaskImage, FloatImage>;
  auto filter = Filter::New();
  filter->SetInput(to_itk(mask));
  filter->SetUseImageSpacing(true);
  filter->SetSquaredDistance(false);
  filter->SetInsideIsPositive(false);
  filter->SetBackgroundValue(0);
  filter->Update();
  return from_itk<float>(filter->GetOutput());
}

}  // namespace

// The distance maps of erode_mm and dilate_mm matter only within the radius of the mask, so
// they are computed on the mask's bounding box grown by the radius and one voxel: the same
// result as over the whole scan, at a fraction of the cost (a liver fills about a seventh of an
// abdominal CT's grid).
namespace {
Box distance_box(const LabelMap& mask, double radius_mm) {
  const auto& sp = mask.geometry.spacing;
  return bounding_box(mask, radius_mm + std::max({sp[0], sp[1], sp[2]}));
}

// For each radius, the voxels of the distance map `d` (computed on `box`) farther than it
// (`beyond`) or within it, pasted into masks on the full grid `full`.
std::vector<LabelMap> distance_levels(const Volume& d, const Box& box, const Geometry& full,
                                      const std::vector<double>& radii_mm, bool beyond) {
  std::vector<LabelMap> out;
  LabelMap part(d.geometry, 0);
  for (double radius_mm : radii_mm) {
    for (std::size_t i = 0; i < d.voxels.size(); ++i)
      part.voxels[i] = beyond ? d.voxels[i] > radius_mm : d.voxels[i] <= radius_mm;
    out.emplace_back(full, 0);
    paste(out.back(), part, box);
  }
  return out;
}
}  // namespace

// Erosion as the complement of the dilated complement: a voxel stays when no background voxel
// centre lies within the radius (the same metric as dilate_mm, so closing contains the mask).
// Every background voxel within the radius of the mask lies inside the grown box.
LabelMap erode_mm(const LabelMap& mask, double radius_mm) {
  return std::move(erode_mm(mask, std::vector<double>{radius_mm}).front());
}

std::vector<LabelMap> erode_mm(const LabelMap& mask, const std::vector<double>& radii_mm) {
  if (radii_mm.empty()) return {};
  if (count(mask) == 0) return std::vector<LabelMap>(radii_mm.size(), mask);
  const Box box = distance_box(mask, *std::max_element(radii_mm.begin(), radii_mm.end()));
  LabelMap background = crop(mask, box);
  for (auto& v : background.voxels) v = !v;
  if (count(background) == 0) return std::vector<LabelMap>(radii_mm.size(), mask);
  return distance_levels(signed_distance(background), box, mask.geometry, radii_mm, true);
}

LabelMap dilate_mm(const LabelMap& mask, double radius_mm) {
  return std::move(dilate_mm(mask, std::vector<double>{radius_mm}).front());
}

std::vector<LabelMap> dilate_mm(const LabelMap& mask, const std::vector<double>& radii_mm) {
  if (radii_mm.empty()) return {};
  if (count(mask) == 0) return std::vector<LabelMap>(radii_mm.size(), mask);
  const Box box = distance_box(mask, *std::max_element(radii_mm.begin(), radii_mm.end()));
  return distance_levels(signed_distance(crop(mask, box)), box, mask.geometry, radii_mm, false);
}

Volume gaussian_mm(const Volume& image, double sigma_mm) {
  auto f = itk::SmoothingRecursiveGaussianImageFilter<FloatImage, FloatImage>::New();
  f->SetInput(to_itk(image));
  f->SetSigma(sigma_mm);
  f->Update();
  return from_itk<float>(f->GetOutput());
}

Image<std::uint32_t> connected_components(const LabelMap& mask, std::vector<std::size_t>* sizes) {
  using LabelImage = itk::Image<std::uint32_t, 3>;
  auto cc = itk::ConnectedComponentImageFilter<MaskImage, LabelImage>::New();
  cc->SetInput(to_itk(mask));
  cc->SetFullyConnected(true);
  auto relabel = itk::RelabelComponentImageFilter<LabelImage, LabelImage>::New();
  relabel->SetInput(cc->GetOutput());
  relabel->Update();
  if (sizes) {
    const auto& s = relabel->GetSizeOfObjectsInPixels();
    sizes->assign(s.begin(), s.end());
  }
  return from_itk<std::uint32_t>(relabel->GetOutput());
}

void fill_holes_per_slice(LabelMap& mask) {
  const auto nx = mask.geometry.size[0], ny = mask.geometry.size[1], nz = mask.geometry.size[2];
  std::vector<std::uint8_t> outside(nx * ny);
  std::deque<std::size_t> queue;
  for (std::size_t k = 0; k < nz; ++k) {
    std::uint8_t* plane = mask.voxels.data() + k * nx * ny;
    std::fill(outside.begin(), outside.end(), 0);
    auto seed = [&](std::size_t p) {
      if (!plane[p] && !outside[p]) {
        outside[p] = 1;
        queue.push_back(p);
      }
    };
    for (std::size_t i = 0; i < nx; ++i) {
      seed(i);
      seed((ny - 1) * nx + i);
    }
    for (std::size_t j = 0; j < ny; ++j) {
      seed(j * nx);
      seed(j * nx + nx - 1);
    }
    while (!queue.empty()) {
      const std::size_t p = queue.front();
      queue.pop_front();
      const std::size_t i = p % nx, j = p / nx;
      if (i > 0) seed(p - 1);
      if (i + 1 < nx) seed(p + 1);
      if (j > 0) seed(p - nx);
      if (j + 1 < ny) seed(p + nx);
    }
    for (std::size_t p = 0; p < nx * ny; ++p) {
      if (!outside[p]) plane[p] = 1;
    }
  }
}

std::size_t count(const LabelMap& mask) {
  std::size_t n = 0;
  for (auto v : mask.voxels) n += v != 0;
  return n;
}

namespace {
template <typename TPixel, typename Interpolator>
Image<TPixel> resample(const Image<TPixel>& in, const Geometry& target, TPixel outside) {
  using ItkImage = itk::Image<TPixel, 3>;
  auto filter = itk::ResampleImageFilter<ItkImage, ItkImage>::New();
  filter->SetInput(to_itk(in));
  filter->SetInterpolator(Interpolator::New());
  filter->SetDefaultPixelValue(outside);
  const Image<TPixel> reference(target, outside);
  auto ref = to_itk(reference);
  filter->SetOutputParametersFromImage(ref);
  filter->Update();
  return from_itk<TPixel>(filter->GetOutput());
}
}  // namespace

LabelMap resample_nearest(const LabelMap& mask, const Geometry& target) {
  return resample<std::uint8_t, itk::NearestNeighborInterpolateImageFunction<MaskImage, double>>(
      mask, target, 0);
}

Volume resample_linear(const Volume& image, const Geometry& target, float outside) {
  return resample<float, itk::LinearInterpolateImageFunction<FloatImage, double>>(image, target,
                                                                                  outside);
}

std::vector<std::vector<std::size_t>> plane_components(const std::uint8_t* plane, std::size_t nx,
                                                       std::size_t ny) {
  std::vector<std::vector<std::size_t>> parts;
  std::vector<std::uint8_t> seen(nx * ny, 0);
  std::vector<std::size_t> stack;
  for (std::size_t start = 0; start < nx * ny; ++start) {
    if (!plane[start] || seen[start]) continue;
    std::vector<std::size_t> members;
    seen[start] = 1;
    stack.assign(1, start);
    while (!stack.empty()) {
      const std::size_t q = stack.back();
      stack.pop_back();
      members.push_back(q);
      const std::size_t i = q % nx, j = q / nx;
      const std::size_t nb[4] = {i > 0 ? q - 1 : q, i + 1 < nx ? q + 1 : q, j > 0 ? q - nx : q,
                                 j + 1 < ny ? q + nx : q};
      for (std::size_t n : nb) {
        if (plane[n] && !seen[n]) {
          seen[n] = 1;
          stack.push_back(n);
        }
      }
    }
    parts.push_back(std::move(members));
  }
  return parts;
}

}  // namespace livernode::processing::detail
