#pragma once
// Plain image containers in patient (LPS) space, free of ITK so that every room can include them
// cheaply. processing/ converts them to itk::Image inside its .cpp files (see itk_bridge.h).
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace livernode::processing {

using Vec3 = std::array<double, 3>;

// Geometry of a regular voxel grid, with the ITK convention:
//   point = origin + direction * (spacing .* index)
// direction is a row-major 3x3 matrix whose columns are the unit vectors of the i, j, k axes.
struct Geometry {
  std::array<std::size_t, 3> size{0, 0, 0};  // i (columns), j (rows), k (slices)
  Vec3 spacing{1.0, 1.0, 1.0};               // mm
  Vec3 origin{0.0, 0.0, 0.0};                // LPS mm of voxel (0,0,0) centre
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};

  std::size_t voxel_count() const { return size[0] * size[1] * size[2]; }
  double voxel_volume_ml() const { return spacing[0] * spacing[1] * spacing[2] / 1000.0; }
  Vec3 axis(int a) const { return {direction[a], direction[3 + a], direction[6 + a]}; }
  Vec3 index_to_point(double i, double j, double k) const;
  // Continuous index of a patient point (inverse of index_to_point; direction assumed orthonormal).
  Vec3 point_to_index(const Vec3& p) const;
  bool same_grid(const Geometry& other, double tolerance_mm = 1e-3) const;
};

template <typename T>
struct Image {
  Geometry geometry;
  std::vector<T> voxels;  // i fastest, then j, then k

  Image() = default;
  explicit Image(const Geometry& g, T fill = T{}) : geometry(g), voxels(g.voxel_count(), fill) {}

  std::size_t offset(std::size_t i, std::size_t j, std::size_t k) const {
    return (k * geometry.size[1] + j) * geometry.size[0] + i;
  }
  T& at(std::size_t i, std::size_t j, std::size_t k) { return voxels[offset(i, j, k)]; }
  const T& at(std::size_t i, std::size_t j, std::size_t k) const { return voxels[offset(i, j, k)]; }
  bool empty() const { return voxels.empty(); }
};

// Attenuation in HU (CT) or stored values after rescale (MR).
using Volume = Image<float>;
// 0 = background; the meaning of other values is set by whoever writes the map.
using LabelMap = Image<std::uint8_t>;

}  // namespace livernode::processing
