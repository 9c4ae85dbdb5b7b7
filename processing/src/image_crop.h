#pragma once
// Sub-volumes: work near an organ instead of over the whole scan, then put the result back.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

#include "livernode/processing/image.h"

namespace livernode::processing::detail {

struct Box {
  std::array<std::size_t, 3> lo{0, 0, 0};
  std::array<std::size_t, 3> hi{0, 0, 0};  // exclusive
  bool empty() const { return hi[0] <= lo[0] || hi[1] <= lo[1] || hi[2] <= lo[2]; }
};

// Bounding box of the non-zero voxels, grown by `margin_mm` on every side (clipped to the grid).
template <typename T>
Box bounding_box(const Image<T>& mask, double margin_mm) {
  const Geometry& g = mask.geometry;
  Box b;
  b.lo = {g.size[0], g.size[1], g.size[2]};
  for (std::size_t k = 0; k < g.size[2]; ++k)
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i)
        if (mask.at(i, j, k)) {
          const std::size_t idx[3] = {i, j, k};
          for (int a = 0; a < 3; ++a) {
            b.lo[a] = std::min(b.lo[a], idx[a]);
            b.hi[a] = std::max(b.hi[a], idx[a] + 1);
          }
        }
  if (b.hi[0] == 0) return Box{};
  for (int a = 0; a < 3; ++a) {
    const auto m = static_cast<std::size_t>(std::ceil(margin_mm / g.spacing[a]));
    b.lo[a] = b.lo[a] > m ? b.lo[a] - m : 0;
    b.hi[a] = std::min(g.size[a], b.hi[a] + m);
  }
  return b;
}

// The voxels of `in` inside the box, with the geometry that keeps them in place.
template <typename T>
Image<T> crop(const Image<T>& in, const Box& box) {
  Geometry g = in.geometry;
  g.origin = in.geometry.index_to_point(box.lo[0], box.lo[1], box.lo[2]);
  for (int a = 0; a < 3; ++a) g.size[a] = box.hi[a] - box.lo[a];
  Image<T> out(g);
  for (std::size_t k = box.lo[2]; k < box.hi[2]; ++k)
    for (std::size_t j = box.lo[1]; j < box.hi[1]; ++j)
      for (std::size_t i = box.lo[0]; i < box.hi[0]; ++i)
        out.at(i - box.lo[0], j - box.lo[1], k - box.lo[2]) = in.at(i, j, k);
  return out;
}

// Writes a cropped image back into the full grid at the box it came from.
template <typename T>
void paste(Image<T>& into, const Image<T>& part, const Box& box) {
  for (std::size_t k = box.lo[2]; k < box.hi[2]; ++k)
    for (std::size_t j = box.lo[1]; j < box.hi[1]; ++j)
      for (std::size_t i = box.lo[0]; i < box.hi[0]; ++i)
        into.at(i, j, k) = part.at(i - box.lo[0], j - box.lo[1], k - box.lo[2]);
}

}  // namespace livernode::processing::detail
