#pragma once
// The default set of liver lesions: slightly irregular ellipsoids of known type and size, and
// the numerical measurement of their longest axial diameter (RECIST-style).
#include <memory>
#include <vector>

#include "liver.h"
#include "shapes.h"
#include "tissue.h"

namespace livernode::phantom {

struct Lesion {
  LesionType type;
  double diameter_mm;  // nominal (2 x the base radius)
  Vec3 centre;
  std::shared_ptr<const Ellipsoid> solid;
};

// Hypervascular with washout 30 mm (right lobe), hypervascular 18 mm, hypovascular 35 mm, simple
// cyst 15 mm (left lobe, moved with the left-lobe scaling of `liver`), hypervascular 7 mm.
std::vector<Lesion> default_lesions(const Liver& liver);

// Longest in-plane distance between two boundary points of any axial (constant z) section of
// the solid, found by ray bisection from the section's centre every 1 degree on planes 0.2 mm
// apart. Assumes the sections are star-shaped about (centre x, centre y).
double longest_axial_diameter(const Solid& solid, const Vec3& centre);

}  // namespace livernode::phantom
