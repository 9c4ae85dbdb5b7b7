#pragma once
// Conversions between the plain image structs and itk::Image, for use inside processing/src.
#include <itkImage.h>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

using FloatImage = itk::Image<float, 3>;
using MaskImage = itk::Image<unsigned char, 3>;

template <typename TPixel>
typename itk::Image<TPixel, 3>::Pointer to_itk(const Image<TPixel>& in) {
  using ItkImage = itk::Image<TPixel, 3>;
  auto out = ItkImage::New();
  typename ItkImage::RegionType region;
  typename ItkImage::SpacingType spacing;
  typename ItkImage::PointType origin;
  typename ItkImage::DirectionType direction;
  for (unsigned a = 0; a < 3; ++a) {
    region.SetSize(a, in.geometry.size[a]);
    spacing[a] = in.geometry.spacing[a];
    origin[a] = in.geometry.origin[a];
    for (unsigned c = 0; c < 3; ++c) direction(a, c) = in.geometry.direction[a * 3 + c];
  }
  out->SetRegions(region);
  out->SetSpacing(spacing);
  out->SetOrigin(origin);
  out->SetDirection(direction);
  out->Allocate();
  std::copy(in.voxels.begin(), in.voxels.end(), out->GetBufferPointer());
  return out;
}

template <typename TPixel>
Geometry geometry_of(const itk::Image<TPixel, 3>* image) {
  Geometry g;
  const auto size = image->GetLargestPossibleRegion().GetSize();
  for (unsigned a = 0; a < 3; ++a) {
    g.size[a] = size[a];
    g.spacing[a] = image->GetSpacing()[a];
    g.origin[a] = image->GetOrigin()[a];
    for (unsigned c = 0; c < 3; ++c) g.direction[a * 3 + c] = image->GetDirection()(a, c);
  }
  return g;
}

template <typename TPixel>
Image<TPixel> from_itk(const itk::Image<TPixel, 3>* image) {
  Image<TPixel> out;
  out.geometry = geometry_of(image);
  const TPixel* p = image->GetBufferPointer();
  out.voxels.assign(p, p + out.geometry.voxel_count());
  return out;
}

}  // namespace livernode::processing::detail
