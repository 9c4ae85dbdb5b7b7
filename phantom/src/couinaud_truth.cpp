#include "couinaud_truth.h"

#include <cmath>

#include "livernode/phantom/labels.h"
#include "vessel_paths.h"

namespace livernode::phantom {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kConfluenceAxisZ = 45.0;

// Point of a polyline at height z (linear between the two vertices around it).
Vec3 at_height(const std::vector<Vec3>& path, double z) {
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const Vec3& a = path[i];
    const Vec3& b = path[i + 1];
    if ((z - a[2]) * (z - b[2]) <= 0.0 && a[2] != b[2]) {
      const double t = (z - a[2]) / (b[2] - a[2]);
      return {a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), z};
    }
  }
  return path.back();
}
}  // namespace

processing::CouinaudPlanes couinaud_truth_planes() {
  processing::CouinaudPlanes planes;
  const Vec3 axis = at_height(ivc_path().points, kConfluenceAxisZ);
  planes.ivc_x = axis[0];
  planes.ivc_y = axis[1];
  const auto veins = hepatic_vein_paths();
  double confluence_z = 0.0;
  for (std::size_t v = 0; v < 3; ++v) {
    double ux = 0.0, uy = 0.0;
    for (std::size_t i = 1; i <= 2; ++i) {
      const double dx = veins[v].points[i][0] - axis[0], dy = veins[v].points[i][1] - axis[1];
      const double r = std::hypot(dx, dy);
      ux += dx / r;
      uy += dy / r;
    }
    planes.vein_azimuth_deg[v] = std::atan2(uy, ux) * 180.0 / kPi;
    confluence_z += veins[v].points[0][2] / 3.0;
  }
  const auto portal = right_portal_vein_path().points;
  planes.portal_z = 0.5 * (portal.front()[2] + portal.back()[2]);
  planes.caudate_top_z = 0.5 * (planes.portal_z + confluence_z);
  return planes;
}

processing::LabelMap couinaud_truth_labels(const processing::LabelMap& labels) {
  const processing::CouinaudPlanes planes = couinaud_truth_planes();
  processing::LabelMap out(labels.geometry, 0);
  const auto& g = labels.geometry;
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    for (std::size_t j = 0; j < g.size[1]; ++j) {
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const std::size_t p = labels.offset(i, j, k);
        if (!labels::is_liver(labels.voxels[p])) continue;
        const Vec3 pt = g.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                         static_cast<double>(k));
        out.voxels[p] = static_cast<std::uint8_t>(processing::couinaud_segment_at(planes, pt));
      }
    }
  }
  return out;
}

std::array<double, 9> segment_volumes_ml(const processing::LabelMap& segments) {
  std::array<double, 9> v{};
  const double voxel_ml = segments.geometry.voxel_volume_ml();
  for (std::uint8_t s : segments.voxels) {
    if (s >= 1 && s <= 8) v[s] += voxel_ml;
  }
  return v;
}

}  // namespace livernode::phantom
