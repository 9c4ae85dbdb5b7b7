#include "mr_liver.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "mask_ops.h"
#include "median.h"
#include "mr_anatomy.h"
#include "mr_bias_field.h"

namespace livernode::processing::detail {

namespace {

// Parenchyma: within -20 % / +25 % of the right upper quadrant's most common signal.
constexpr double kBandLow = 0.80, kBandHigh = 1.25;
// In every other time point, within 18 % of the liver's signal there.
constexpr double kSupportBand = 0.18;
// Necks to neighbouring organs of the same signal (spleen, kidney) are cut by an opening.
constexpr double kOpeningMm = 7.5;
// Vessels and lesions inside the liver are taken in by a closing and hole filling.
constexpr double kClosingMm = 10.0;
// The boundary: full-resolution voxels within 5 mm of the coarse outline (inside or out) kept
// where brighter than half way between the parenchyma and what lies beyond.
constexpr double kBoundaryBandMm = 5.0;

}  // namespace

MrLiver segment_liver_mr(const Volume& normalised, const Volume& c,
                         const std::vector<Volume>& supporting) {
  MrLiver out;
  const Geometry& g = c.geometry;
  const LabelMap body = mr_body_mask(c);
  if (count(body) == 0) {
    out.failure = "no body found";
    return out;
  }
  // The right upper quadrant (patient right of the midline, in front of the back muscles) and
  // its most common signal.
  const LabelMap quadrant = right_upper_quadrant(body);
  const auto found = signal_mode(c, quadrant, 300);
  if (!found) {
    out.failure = "no soft tissue in the right upper quadrant";
    return out;
  }
  const double mode = *found;
  // The liver's signal in each supporting time point: the most common signal, there, of the
  // quadrant's voxels that are parenchyma-like on the reference.
  LabelMap parenchyma_like(g, 0);
  for (std::size_t p = 0; p < parenchyma_like.voxels.size(); ++p)
    parenchyma_like.voxels[p] = quadrant.voxels[p] && std::abs(c.voxels[p] - mode) <= 0.1 * mode;
  std::vector<double> support_mode;
  for (const Volume& v : supporting)
    support_mode.push_back(signal_mode(v, parenchyma_like, 300).value_or(-1.0));

  // The parenchyma band in the body; opened, the part that holds most of the quadrant's
  // parenchyma kept, grown back into the band.
  LabelMap band(g, 0);
  std::size_t supporting_used = 0;
  for (double m : support_mode) supporting_used += m > 0.0;
  for (std::size_t p = 0; p < band.voxels.size(); ++p) {
    bool in = body.voxels[p] && c.voxels[p] >= kBandLow * mode && c.voxels[p] <= kBandHigh * mode;
    for (std::size_t s = 0; s < supporting.size() && in; ++s)
      if (support_mode[s] > 0.0)
        in = std::abs(supporting[s].voxels[p] - support_mode[s]) <= kSupportBand * support_mode[s];
    band.voxels[p] = in;
  }
  const LabelMap opened = dilate_mm(erode_mm(band, kOpeningMm), kOpeningMm);
  LabelMap core(g, 0);
  for (std::size_t p = 0; p < core.voxels.size(); ++p)
    core.voxels[p] = opened.voxels[p] && band.voxels[p];
  std::vector<std::size_t> sizes;
  const auto cc = connected_components(core, &sizes);
  std::vector<std::size_t> in_quadrant(sizes.size() + 1, 0);
  for (std::size_t p = 0; p < cc.voxels.size(); ++p)
    if (cc.voxels[p] && quadrant.voxels[p]) ++in_quadrant[cc.voxels[p]];
  const auto pick = static_cast<std::uint32_t>(
      std::max_element(in_quadrant.begin(), in_quadrant.end()) - in_quadrant.begin());
  if (pick == 0 || in_quadrant[pick] == 0) {
    out.failure = "no parenchyma-like region in the right upper quadrant";
    return out;
  }
  LabelMap liver(g, 0);
  for (std::size_t p = 0; p < liver.voxels.size(); ++p) liver.voxels[p] = cc.voxels[p] == pick;
  // What the opening took from the liver's own edges (thin lobe tips), taken back: the band
  // within the opening radius of the part kept.
  {
    const LabelMap near = dilate_mm(liver, kOpeningMm);
    for (std::size_t p = 0; p < liver.voxels.size(); ++p)
      liver.voxels[p] = near.voxels[p] && band.voxels[p];
  }
  // Vessels and lesions inside: closing, then holes filled slice by slice.
  liver = erode_mm(dilate_mm(liver, kClosingMm), kClosingMm);
  fill_holes_per_slice(liver);

  // Full resolution: the inner part as is, the outer band by the half-way threshold against the
  // tissue just outside.
  LabelMap full = resample_nearest(liver, normalised.geometry);
  const LabelMap inner = erode_mm(full, kBoundaryBandMm);
  const LabelMap outer = dilate_mm(full, kBoundaryBandMm);
  std::vector<float> beyond;
  for (std::size_t p = 0; p < full.voxels.size(); ++p)
    if (outer.voxels[p] && !full.voxels[p]) beyond.push_back(normalised.voxels[p]);
  const double outside = median(beyond);
  const double cut = 0.5 * (mode + outside);
  const Volume smooth = gaussian_mm(normalised, 1.0);
  std::size_t n = 0;
  for (std::size_t p = 0; p < full.voxels.size(); ++p) {
    if (outer.voxels[p] && !inner.voxels[p]) full.voxels[p] = smooth.voxels[p] >= cut;
    n += full.voxels[p];
  }
  // The largest connected part.
  const auto parts = connected_components(full, &sizes);
  for (std::size_t p = 0; p < full.voxels.size(); ++p) full.voxels[p] = parts.voxels[p] == 1;
  fill_holes_per_slice(full);
  if (n == 0) {
    out.failure = "the liver region vanished at full resolution";
    return out;
  }
  std::ostringstream m;
  m.precision(2);
  m << std::fixed << "automatic, classical, on MR: parenchyma signal " << kBandLow * mode << " to "
    << kBandHigh * mode << " of paraspinal muscle (the right upper quadrant's most common signal "
    << mode << " -20/+25 %), opened by " << kOpeningMm << " mm to cut necks to touching organs, "
    << "the part in the right upper quadrant kept, closed by " << kClosingMm
    << " mm and holes filled (vessels and lesions inside), boundary within 5 mm of that at half "
    << "way to the tissue beside the liver (" << outside
    << " of muscle); parenchyma-like also within " << static_cast<int>(100 * kSupportBand)
    << " % of the liver's signal in " << supporting_used
    << " other aligned time point(s); no location atlas on MR yet";
  out.method = m.str();
  out.mask = std::move(full);
  return out;
}

}  // namespace livernode::processing::detail
