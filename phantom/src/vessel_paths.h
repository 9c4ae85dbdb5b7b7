#pragma once
// Centre lines (LPS mm) and radii of the phantom's IVC, hepatic veins and right portal vein:
// the anatomy builds its tubes from them and the Couinaud segment truth takes its landmarks from
// the same numbers.
#include <array>
#include <vector>

#include "shapes.h"

namespace livernode::phantom {

struct VesselPath {
  std::vector<Vec3> points;
  std::vector<double> radii;
};

inline VesselPath ivc_path() {
  return {{{-28, 22, -400},
           {-28, 20, -40},
           {-27, 18, 40},
           {-22, 10, 62},
           {-12, -2, 90},
           {-5, -10, 130}},
          {11.0, 12.0, 12.5, 12.5, 12.5, 12.5}};
}

// Right, middle and left hepatic veins, from their confluence with the IVC under the dome
// running anteriorly, laterally and downwards into the liver.
inline std::array<VesselPath, 3> hepatic_vein_paths() {
  return {{
      {{{-30, 18, 56}, {-60, 8, 42}, {-95, -2, 20}, {-122, -10, -5}}, {5.5, 4.5, 3.5, 2.5}},
      {{{-26, 14, 58}, {-38, -15, 42}, {-48, -45, 18}, {-52, -72, -5}}, {5.0, 4.0, 3.0, 2.5}},
      {{{-24, 12, 58}, {-2, -18, 50}, {20, -38, 40}, {45, -52, 30}}, {4.5, 3.5, 3.0, 2.5}},
  }};
}

// The right portal vein from the bifurcation to its division into anterior and posterior
// branches.
inline VesselPath right_portal_vein_path() {
  return {{{-26, -16, -18}, {-55, -14, -12}}, {6.0, 5.5}};
}

}  // namespace livernode::phantom
