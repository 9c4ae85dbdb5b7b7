#include "couinaud.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "median.h"
#include "text_format.h"

namespace livernode::processing {

namespace {

// Where the inferior vena cava can lie relative to the spine (mm): right of the midline by at
// most this much, in front of the vertebral body by at most this much.
constexpr double kIvcMaxRightMm = 55.0;
constexpr double kIvcMaxFrontMm = 60.0;
constexpr double kPi = 3.14159265358979323846;

// Unwraps an azimuth into [-270, 90): straight posterior (90 degrees) is the cut between the
// posterior right section and the left lateral section, anterior directions stay negative.
double unwrap(double deg) {
  while (deg >= 90.0) deg -= 360.0;
  while (deg < -270.0) deg += 360.0;
  return deg;
}
}  // namespace

int couinaud_segment_at(const CouinaudPlanes& planes, const Vec3& p) {
  const double dx = p[0] - planes.ivc_x, dy = p[1] - planes.ivc_y;
  const bool superior = p[2] >= planes.portal_z;
  if (dx >= -planes.caudate_right_mm && dx <= planes.caudate_left_mm &&
      dy >= -planes.caudate_anterior_mm && p[2] >= planes.portal_z - 10.0 &&
      p[2] <= planes.caudate_top_z) {
    return 1;
  }
  const double phi = unwrap(std::atan2(dy, dx) * 180.0 / kPi);
  const double r = unwrap(planes.vein_azimuth_deg[0]);
  const double m = unwrap(planes.vein_azimuth_deg[1]);
  const double l = unwrap(planes.vein_azimuth_deg[2]);
  if (phi < r) return superior ? 7 : 6;
  if (phi < m) return superior ? 8 : 5;
  if (phi < l) return 4;
  return superior ? 2 : 3;
}

namespace detail {

namespace {

struct Slice2D {
  std::size_t nx = 0, ny = 0;
  std::vector<float> v;
};

// Physical z of slice k and the in-plane point of (i, j) on an axial grid.
Vec3 point(const Geometry& g, std::size_t i, std::size_t j, std::size_t k) {
  return g.index_to_point(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k));
}

// 3x3 in-plane mean of slice k.
void smoothed_slice(const Volume& ct, std::size_t k, std::vector<float>& out) {
  const std::size_t nx = ct.geometry.size[0], ny = ct.geometry.size[1];
  out.assign(nx * ny, -1000.0f);
  for (std::size_t j = 1; j + 1 < ny; ++j) {
    for (std::size_t i = 1; i + 1 < nx; ++i) {
      float s = 0;
      for (int dj = -1; dj <= 1; ++dj) {
        for (int di = -1; di <= 1; ++di) s += ct.at(i + di, j + dj, k);
      }
      out[j * nx + i] = s / 9.0f;
    }
  }
}

struct Component2D {
  std::size_t pixels = 0;
  double sx = 0, sy = 0;  // sums of LPS x, y
  double hu = 0;
  bool touches_liver = false;
};

// 4-connected components of `mask` in one slice.
std::vector<Component2D> components_2d(const std::vector<std::uint8_t>& mask, const Volume& ct,
                                       const LabelMap& liver, std::size_t k,
                                       const std::vector<float>& smooth) {
  const Geometry& g = ct.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1];
  std::vector<std::int32_t> label(nx * ny, -1);
  std::vector<Component2D> out;
  std::vector<std::size_t> stack;
  for (std::size_t start = 0; start < nx * ny; ++start) {
    if (!mask[start] || label[start] >= 0) continue;
    Component2D c;
    const auto id = static_cast<std::int32_t>(out.size());
    label[start] = id;
    stack.push_back(start);
    while (!stack.empty()) {
      const std::size_t q = stack.back();
      stack.pop_back();
      const std::size_t i = q % nx, j = q / nx;
      const Vec3 p = point(g, i, j, k);
      ++c.pixels;
      c.sx += p[0];
      c.sy += p[1];
      c.hu += smooth[q];
      const std::size_t nb[4] = {i > 0 ? q - 1 : q, i + 1 < nx ? q + 1 : q, j > 0 ? q - nx : q,
                                 j + 1 < ny ? q + nx : q};
      for (std::size_t n : nb) {
        if (n == q) continue;
        if (liver.voxels[k * nx * ny + n]) c.touches_liver = true;
        if (mask[n] && label[n] < 0) {
          label[n] = id;
          stack.push_back(n);
        }
      }
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

CouinaudSegmentation segment_couinaud(const Volume& ct, const LabelMap& liver,
                                      std::optional<double> spine_x,
                                      std::optional<double> spine_anterior_y, const IvcTrack* ivc,
                                      const std::string& unit) {
  CouinaudSegmentation out;
  const Geometry& g = ct.geometry;
  if (!g.same_grid(liver.geometry) || liver.empty()) {
    out.failure = "no liver mask on the reference grid";
    return out;
  }
  if (std::abs(g.axis(2)[2]) < 0.9 || std::abs(g.axis(0)[2]) > 0.1 ||
      std::abs(g.axis(1)[2]) > 0.1) {
    out.failure = "the reference series is not axial";
    return out;
  }
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];

  // Liver extent in z and the parenchyma statistics.
  std::vector<std::size_t> per_slice(nz, 0);
  std::vector<float> sample;
  for (std::size_t k = 0; k < nz; ++k) {
    for (std::size_t q = 0; q < nx * ny; ++q) {
      const std::size_t p = k * nx * ny + q;
      if (!liver.voxels[p]) continue;
      ++per_slice[k];
      if ((p % 7) == 0) sample.push_back(ct.voxels[p]);
    }
  }
  std::vector<std::size_t> liver_slices;
  for (std::size_t k = 0; k < nz; ++k) {
    if (per_slice[k] * pixel_mm2 > 100.0) liver_slices.push_back(k);
  }
  if (liver_slices.size() < 8 || sample.size() < 1000) {
    out.failure = "the liver covers too few slices for a segment analysis";
    return out;
  }
  const double median_hu = median(sample);
  std::vector<float> dev;
  dev.reserve(sample.size());
  for (float v : sample) dev.push_back(std::abs(v - static_cast<float>(median_hu)));
  // Robust SD of a 3x3 mean (the statistics above are of single voxels).
  const double sd = 1.4826 * median(dev) / 3.0;
  const double vessel_hu = median_hu + std::max(15.0, 3.0 * sd);
  const double z_a = point(g, 0, 0, liver_slices.front())[2];
  const double z_b = point(g, 0, 0, liver_slices.back())[2];
  const double z_top = std::max(z_a, z_b), z_bottom = std::min(z_a, z_b);
  const double height = z_top - z_bottom;
  auto slice_z = [&](std::size_t k) { return point(g, 0, 0, k)[2]; };

  // Upper band: where the hepatic veins run towards the IVC.
  const double band_lo = z_top - 0.30 * height, band_hi = z_top - 0.05 * height;
  std::vector<float> smooth;
  std::vector<std::uint8_t> bright(nx * ny);

  // 1. IVC: per band slice the most posterior bright tube that touches the liver, right of the
  // spine and in front of the vertebral body.
  std::vector<double> ivc_x, ivc_y;
  std::vector<float> ivc_area;
  // The IVC is 30-50 HU above the parenchyma in the portal venous phase, 10-30 in the delayed.
  const double ivc_margin = std::max(10.0, std::min(20.0, 1.5 * sd));
  for (std::size_t k = 0; k < nz; ++k) {
    const double z = slice_z(k);
    if (z < band_lo || z > band_hi) continue;
    smoothed_slice(ct, k, smooth);
    for (std::size_t q = 0; q < nx * ny; ++q) {
      bright[q] = smooth[q] > median_hu + ivc_margin && smooth[q] < median_hu + 150.0;
    }
    const auto comps = components_2d(bright, ct, liver, k, smooth);
    const Component2D* best = nullptr;
    double best_score = -1e9;
    for (const auto& c : comps) {
      const double area = c.pixels * pixel_mm2;
      if (area < 80.0 || area > 2500.0 || !c.touches_liver) continue;
      const double cx = c.sx / c.pixels, cy = c.sy / c.pixels;
      // Right of the spine but not lateral to it, in front of the vertebral body but not far.
      if (spine_x && (cx > *spine_x - 5.0 || cx < *spine_x - kIvcMaxRightMm)) continue;
      if (spine_anterior_y &&
          (cy > *spine_anterior_y + 10.0 || cy < *spine_anterior_y - kIvcMaxFrontMm))
        continue;
      const double expected_x = spine_x ? *spine_x - 25.0 : cx;
      const double score = cy - 0.3 * std::abs(cx - expected_x);
      if (score > best_score) {
        best_score = score;
        best = &c;
      }
    }
    if (best) {
      ivc_x.push_back(best->sx / best->pixels);
      ivc_y.push_back(best->sy / best->pixels);
      ivc_area.push_back(static_cast<float>(best->pixels * pixel_mm2));
    }
  }
  CouinaudPlanes planes;
  // The traced IVC, when there is one: its centres in the band (the axis runs nearly
  // vertically, so the whole track stands in when the band has fewer than two).
  std::vector<float> traced_x, traced_y, band_x, band_y;
  if (ivc && ivc->phase_index >= 0) {
    for (std::size_t k = 0; k < ivc->slices.size() && k < nz; ++k) {
      if (!ivc->slices[k]) continue;
      traced_x.push_back(static_cast<float>(ivc->slices[k]->x));
      traced_y.push_back(static_cast<float>(ivc->slices[k]->y));
      const double z = slice_z(k);
      if (z >= band_lo && z <= band_hi) {
        band_x.push_back(traced_x.back());
        band_y.push_back(traced_y.back());
      }
    }
  }
  std::string ivc_source;
  if (band_x.size() >= 2 || traced_x.size() >= 3) {
    auto& bx = band_x.size() >= 2 ? band_x : traced_x;
    auto& by = band_x.size() >= 2 ? band_y : traced_y;
    planes.ivc_x = median(bx);
    planes.ivc_y = median(by);
    ivc_source = ivc->summary + (band_x.size() >= 2 ? "" : ", its axis taken below the band");
  } else if (ivc_x.size() >= 3) {
    // Where the hepatic veins join, the bright region is the IVC plus the vein mouths, larger
    // and pulled forward: only the slices with a plain tube cross-section (area at most 1.3 x
    // the median) give the axis.
    std::vector<float> areas = ivc_area;
    const double area_limit = 1.3 * median(areas);
    std::vector<float> xs, ys;
    for (std::size_t i = 0; i < ivc_x.size(); ++i) {
      if (ivc_area[i] > area_limit) continue;
      xs.push_back(static_cast<float>(ivc_x[i]));
      ys.push_back(static_cast<float>(ivc_y[i]));
    }
    planes.ivc_x = median(xs);
    planes.ivc_y = median(ys);
  } else {
    // Fallback: the posterior-medial edge of the upper liver (the IVC groove).
    double sx = 0, sy = 0, n = 0, ymax = -1e9;
    for (std::size_t k = 0; k < nz; ++k) {
      const double z = slice_z(k);
      if (z < band_lo || z > band_hi) continue;
      for (std::size_t q = 0; q < nx * ny; ++q) {
        if (!liver.voxels[k * nx * ny + q]) continue;
        const Vec3 p = point(g, q % nx, q / nx, k);
        sx += p[0];
        sy += p[1];
        n += 1;
        ymax = std::max(ymax, p[1]);
      }
    }
    if (n == 0) {
      out.failure = "no liver in the upper band";
      return out;
    }
    planes.ivc_x = spine_x ? *spine_x - 25.0 : sx / n;
    planes.ivc_y = ymax - 25.0;
    out.notes.push_back(
        "IVC not found as a bright tube (not a portal venous or delayed phase?): "
        "the axis was placed at the posterior-medial liver edge");
  }

  // 2. Hepatic veins: azimuth histogram of the intrahepatic vessel voxels in the upper band,
  // 15-90 mm from the IVC axis.
  constexpr int kBins = 72;  // 5 degrees
  std::array<double, kBins> hist{};
  std::size_t vein_voxels = 0;
  for (std::size_t k = 0; k < nz; ++k) {
    const double z = slice_z(k);
    if (z < band_lo || z > band_hi) continue;
    smoothed_slice(ct, k, smooth);
    for (std::size_t q = 0; q < nx * ny; ++q) {
      if (!liver.voxels[k * nx * ny + q] || smooth[q] <= vessel_hu) continue;
      const Vec3 p = point(g, q % nx, q / nx, k);
      const double dx = p[0] - planes.ivc_x, dy = p[1] - planes.ivc_y;
      const double r = std::hypot(dx, dy);
      if (r < 15.0 || r > 90.0) continue;
      double phi = unwrap(std::atan2(dy, dx) * 180.0 / kPi) + 270.0;  // 0..360
      hist[static_cast<std::size_t>(std::clamp(phi / 5.0, 0.0, kBins - 1.0))] += 1.0;
      ++vein_voxels;
    }
  }
  std::array<double, kBins> smooth_hist{};
  for (int b = 0; b < kBins; ++b) {
    for (int d = -3; d <= 3; ++d) {
      const int c = b + d;
      if (c < 0 || c >= kBins) continue;
      smooth_hist[b] += hist[c] * std::exp(-0.5 * (d * 5.0 / 8.0) * (d * 5.0 / 8.0));
    }
  }
  std::vector<int> peaks;
  for (int b = 1; b + 1 < kBins; ++b) {
    if (smooth_hist[b] > 0 && smooth_hist[b] >= smooth_hist[b - 1] &&
        smooth_hist[b] > smooth_hist[b + 1]) {
      peaks.push_back(b);
    }
  }
  std::sort(peaks.begin(), peaks.end(),
            [&](int a, int b) { return smooth_hist[a] > smooth_hist[b]; });
  std::vector<int> chosen;
  for (int b : peaks) {
    bool far = true;
    for (int c : chosen) far = far && std::abs(b - c) * 5 >= 25;
    if (far) chosen.push_back(b);
    if (chosen.size() == 3) break;
  }
  // Typical azimuths (right, middle, left) when a vein is not seen.
  const std::array<double, 3> typical{-160.0, -105.0, -50.0};
  if (chosen.size() == 3 && vein_voxels > 100) {
    std::sort(chosen.begin(), chosen.end());
    // Each direction to better than the 5-degree bin: the centre of mass of the raw histogram
    // within 10 degrees of the peak.
    for (int v = 0; v < 3; ++v) {
      double w = 0, sum = 0;
      for (int d = -2; d <= 2; ++d) {
        const int b = chosen[v] + d;
        if (b < 0 || b >= kBins) continue;
        w += hist[b];
        sum += hist[b] * (b * 5.0 + 2.5);
      }
      const double centre = w > 0 ? sum / w : chosen[v] * 5.0 + 2.5;
      planes.vein_azimuth_deg[v] = centre - 270.0;
    }
  } else {
    planes.vein_azimuth_deg = typical;
    std::string seen;
    for (int b : chosen) seen += (seen.empty() ? " at " : ", ") + fixed(b * 5.0 + 2.5 - 270.0, 0);
    out.notes.push_back("fewer than three hepatic veins found (" + std::to_string(chosen.size()) +
                        " directions" + seen + ", " + std::to_string(vein_voxels) +
                        " vessel voxels): typical vein directions used");
  }

  // 3. Portal plane: the slice below the band with the most vessel voxels within 70 mm of the
  // IVC axis, anterior to it, inside the liver or within one voxel ring of it (hilum).
  std::vector<double> portal_count(nz, 0.0);
  double best_count = 0;
  std::size_t best_k = nz;
  for (std::size_t k = 0; k < nz; ++k) {
    const double z = slice_z(k);
    if (z >= band_lo || z < z_bottom + 0.15 * height) continue;
    smoothed_slice(ct, k, smooth);
    for (std::size_t j = 1; j + 1 < ny; ++j) {
      for (std::size_t i = 1; i + 1 < nx; ++i) {
        const std::size_t q = j * nx + i;
        if (smooth[q] <= vessel_hu || smooth[q] > median_hu + 250.0) continue;
        const std::size_t base = k * nx * ny;
        const bool near_liver = liver.voxels[base + q] || liver.voxels[base + q - 1] ||
                                liver.voxels[base + q + 1] || liver.voxels[base + q - nx] ||
                                liver.voxels[base + q + nx];
        if (!near_liver) continue;
        const Vec3 p = point(g, i, j, k);
        const double dx = p[0] - planes.ivc_x, dy = p[1] - planes.ivc_y;
        if (dy > -5.0 || std::hypot(dx, dy) > 70.0) continue;
        portal_count[k] += 1.0;
      }
    }
  }
  for (std::size_t k = 0; k < nz; ++k) {
    double c = portal_count[k];
    if (k > 0) c += 0.5 * portal_count[k - 1];
    if (k + 1 < nz) c += 0.5 * portal_count[k + 1];
    if (c > best_count) {
      best_count = c;
      best_k = k;
    }
  }
  if (best_k < nz && best_count * pixel_mm2 > 50.0) {
    planes.portal_z = slice_z(best_k);
  } else {
    planes.portal_z = z_bottom + 0.45 * height;
    out.notes.push_back(
        "portal bifurcation not seen: the portal plane was put at 45 % of the "
        "liver height");
  }
  planes.caudate_top_z = planes.portal_z + 0.5 * (band_hi - planes.portal_z);

  // 4. Every liver voxel gets the segment of its position.
  out.segments = LabelMap(g, 0);
  for (std::size_t k = 0; k < nz; ++k) {
    for (std::size_t j = 0; j < ny; ++j) {
      for (std::size_t i = 0; i < nx; ++i) {
        const std::size_t p = liver.offset(i, j, k);
        if (!liver.voxels[p]) continue;
        out.segments.voxels[p] =
            static_cast<std::uint8_t>(couinaud_segment_at(planes, point(g, i, j, k)));
      }
    }
  }
  out.ivc_lps = {planes.ivc_x, planes.ivc_y, 0.5 * (band_lo + band_hi)};
  out.portal_plane_z = planes.portal_z;
  out.vein_azimuth_deg = planes.vein_azimuth_deg;
  std::ostringstream m;
  m << "automatic, classical landmarks: IVC axis at (" << fixed(planes.ivc_x, 0) << ", "
    << fixed(planes.ivc_y, 0) << ") mm "
    << (ivc_source.empty() ? "from " + std::to_string(ivc_x.size()) + " slices"
                           : "(" + ivc_source + ")")
    << "; hepatic veins (vessels above " << fixed(vessel_hu, 0) << " " << unit
    << " in the upper liver) at azimuths " << fixed(planes.vein_azimuth_deg[0], 0) << ", "
    << fixed(planes.vein_azimuth_deg[1], 0) << ", " << fixed(planes.vein_azimuth_deg[2], 0)
    << " degrees around the IVC; portal plane at z " << fixed(planes.portal_z, 0)
    << " mm; vertical planes through the IVC axis and each vein, the left hepatic vein plane "
       "standing in for the umbilical fissure; caudate as the liver within 30 mm in front of "
       "the IVC between the portal plane and the hepatic vein confluence. Limits: planar "
       "boundaries (real ones are curved), portal territories not traced, the planes assume an "
       "axial series in the portal venous or delayed phase";
  out.method = m.str();
  return out;
}

}  // namespace detail
}  // namespace livernode::processing
