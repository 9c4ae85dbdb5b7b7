#pragma once
// A probabilistic atlas of where the liver lies (after Park et al., "Construction of an abdominal
// probabilistic atlas and its application in segmentation", IEEE TMI 22(4), 2003), placed on each
// study by measured landmarks instead of image registration: the right lung's base (the dome
// of the diaphragm) sets the craniocaudal origin, the front of the spine and the midline the
// axial origin, and the body's right half-width and its depth in front of the spine the scales.
// In that frame, u is left-right (negative: patient right), v antero-posterior (negative:
// anterior), w craniocaudal (negative: below the lung base), u and w in right half-widths and v in
// body depths. The value of a cell is the fraction of training livers covering it, smoothed.
//
// The segmentation keeps its parenchyma window inside the region where the atlas gives the liver
// a chance at all, so that muscle, bowel or stomach of the liver's attenuation far from where any
// liver lay cannot be joined to it. A study whose frame cannot be measured (no lung in the
// series, no spine) is segmented without it, which the report says.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::processing {

// The frame measured on one study: LPS mm of the origin and the scales (mm per atlas unit).
struct AtlasFrame {
  double x0 = 0, y0 = 0, z0 = 0;
  double lateral_mm = 0, depth_mm = 0;
  Vec3 to_atlas(const Vec3& lps) const {
    return {(lps[0] - x0) / lateral_mm, (lps[1] - y0) / depth_mm, (lps[2] - z0) / lateral_mm};
  }
  Vec3 to_patient(double u, double v, double w) const {
    return {x0 + u * lateral_mm, y0 + v * depth_mm, z0 + w * lateral_mm};
  }
};

// The atlas grid: the cells' centres run from kLow + step/2 in steps of kStep.
struct LiverAtlas {
  static constexpr std::array<double, 3> kLow{-1.25, -1.30, -1.60};
  static constexpr double kStep = 0.04;
  static constexpr std::array<std::size_t, 3> kSize{58, 50, 60};
  std::vector<float> probability;  // kSize[0] * kSize[1] * kSize[2], u fastest; empty: no atlas
  int cases = 0;                   // training livers behind it
  std::string source;              // what it was built from, for the report

  bool empty() const { return probability.empty(); }
  // Trilinear; 0 outside the grid.
  double at(const Vec3& uvw) const;
};

// One training liver on the atlas grid: per cell the fraction of it inside the mask, and whether
// the series covered the cell at all. Empty when the frame cannot be measured on the volume.
struct AtlasSample {
  std::vector<float> inside, covered;
  bool empty() const { return inside.empty(); }
};
AtlasSample liver_atlas_sample(const Volume& volume, const LabelMap& liver);

// The mean of the samples where they cover a cell, smoothed (normalised convolution, so cells
// a series did not cover take their value from the cells around them).
LiverAtlas build_liver_atlas(const std::vector<AtlasSample>& samples, std::string source);

// The file format: a text header line, then one byte per cell (probability x 255).
std::string serialise_liver_atlas(const LiverAtlas& atlas);
LiverAtlas parse_liver_atlas(const std::string& bytes);  // empty atlas when malformed

// The atlas built into the program (from the cases its documentation names).
const LiverAtlas& builtin_liver_atlas();

}  // namespace livernode::processing
