#include "lesions.h"

#include <algorithm>
#include <cmath>

namespace livernode::phantom {

namespace {

struct LesionSpec {
  LesionType type;
  double diameter_mm;
  Vec3 centre;
  Vec3 stretch;         // relative semi-axes (product ~ 1 keeps the nominal volume)
  double rotation_deg;  // about z
  RadialRipple ripple;
  bool in_left_lobe;
};

const LesionSpec kSpecs[] = {
    {LesionType::HypervascularWashout,
     30.0,
     {-100.0, 15.0, -28.0},
     {1.06, 0.96, 0.98},
     25.0,
     {{0.05, -0.03, 0.02, 0.03, -0.02, 0.04}},
     false},
    {LesionType::Hypervascular,
     18.0,
     {-48.0, -55.0, 5.0},
     {1.04, 0.97, 0.99},
     -15.0,
     {{-0.04, 0.03, 0.02, -0.02, 0.03, -0.03}},
     false},
    {LesionType::Hypovascular,
     35.0,
     {-68.0, 32.0, 26.0},
     {1.05, 1.0, 0.95},
     40.0,
     {{0.06, 0.02, -0.04, 0.04, 0.02, 0.05}},
     false},
    {LesionType::Cyst,
     15.0,
     {35.0, -50.0, 24.0},
     {1.03, 0.98, 0.99},
     10.0,
     {{0.02, 0.0, 0.01, -0.02, 0.01, 0.0}},
     true},
    {LesionType::Hypervascular,
     7.0,
     {-118.0, -18.0, -8.0},
     {1.0, 1.0, 1.0},
     0.0,
     {{0.02, -0.02, 0.0, 0.02, 0.0, 0.0}},
     false},
};

}  // namespace

std::vector<Lesion> default_lesions(const Liver& liver) {
  std::vector<Lesion> out;
  for (const LesionSpec& s : kSpecs) {
    const Vec3 centre = s.in_left_lobe ? liver.map_left_lobe_point(s.centre) : s.centre;
    const double r = 0.5 * s.diameter_mm;
    const Vec3 semi{r * s.stretch[0], r * s.stretch[1], r * s.stretch[2]};
    auto solid =
        std::make_shared<const Ellipsoid>(centre, semi, Frame::about_z(s.rotation_deg), s.ripple);
    out.push_back({s.type, s.diameter_mm, centre, std::move(solid)});
  }
  return out;
}

double longest_axial_diameter(const Solid& solid, const Vec3& centre) {
  constexpr int kRays = 360;
  constexpr double kPlaneStep = 0.2;
  const Box& b = solid.bounds();
  const double r_max = std::max({b.hi[0] - b.lo[0], b.hi[1] - b.lo[1]});
  double best = 0.0;
  std::vector<std::array<double, 2>> boundary(kRays);
  for (double z = b.lo[2]; z <= b.hi[2]; z += kPlaneStep) {
    if (!solid.contains({centre[0], centre[1], z})) continue;
    for (int a = 0; a < kRays; ++a) {
      const double angle = 2.0 * 3.14159265358979323846 * a / kRays;
      const double dx = std::cos(angle), dy = std::sin(angle);
      double inside = 0.0, outside = r_max;
      for (int it = 0; it < 40; ++it) {
        const double mid = 0.5 * (inside + outside);
        if (solid.contains({centre[0] + mid * dx, centre[1] + mid * dy, z})) {
          inside = mid;
        } else {
          outside = mid;
        }
      }
      boundary[a] = {inside * dx, inside * dy};
    }
    for (int a = 0; a < kRays; ++a) {
      for (int c = a + 1; c < kRays; ++c) {
        const double ex = boundary[a][0] - boundary[c][0], ey = boundary[a][1] - boundary[c][1];
        best = std::max(best, ex * ex + ey * ey);
      }
    }
  }
  return std::sqrt(best);
}

}  // namespace livernode::phantom
