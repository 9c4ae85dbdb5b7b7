#include "ivc_tracking.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "median.h"
#include "text_format.h"

namespace livernode::processing::detail {

namespace {

constexpr float kNoData = -1500.0f;  // aligned phases mark voxels outside their scan below this

struct Candidate {
  IvcSlice lumen;
  double mean_hu = 0;
};

// Plausible IVC cross-sections of slice k of one phase.
std::vector<Candidate> candidates_in_slice(const Volume& v, const LabelMap& liver, std::size_t k,
                                           double liver_hu, std::optional<double> spine_x,
                                           std::optional<double> spine_anterior_y) {
  const Geometry& g = v.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1];
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];
  std::vector<float> s(nx * ny, kNoData);
  for (std::size_t j = 1; j + 1 < ny; ++j) {
    for (std::size_t i = 1; i + 1 < nx; ++i) {
      float sum = 0;
      bool ok = true;
      for (int dj = -1; dj <= 1 && ok; ++dj) {
        for (int di = -1; di <= 1; ++di) {
          const float x = v.at(i + di, j + dj, k);
          if (x < kNoData) {
            ok = false;
            break;
          }
          sum += x;
        }
      }
      if (ok) s[j * nx + i] = sum / 9.0f;
    }
  }
  const float lo = static_cast<float>(liver_hu + 20.0), hi = static_cast<float>(liver_hu + 230.0);
  std::vector<std::int32_t> label(nx * ny, -1);
  std::vector<Candidate> out;
  std::vector<std::size_t> stack;
  const std::size_t base = k * nx * ny;
  for (std::size_t start = 0; start < nx * ny; ++start) {
    if (label[start] >= 0 || s[start] < lo || s[start] > hi) continue;
    Candidate c;
    double sx = 0, sy = 0, hu = 0;
    std::size_t near_liver = 0;
    label[start] = 0;
    stack.push_back(start);
    while (!stack.empty()) {
      const std::size_t q = stack.back();
      stack.pop_back();
      c.lumen.pixels.push_back(q);
      const std::size_t i = q % nx, j = q / nx;
      const Vec3 p =
          g.index_to_point(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k));
      sx += p[0];
      sy += p[1];
      hu += s[q];
      bool by_liver = liver.voxels[base + q] != 0;
      const std::size_t nb[4] = {i > 0 ? q - 1 : q, i + 1 < nx ? q + 1 : q, j > 0 ? q - nx : q,
                                 j + 1 < ny ? q + nx : q};
      for (std::size_t n : nb) {
        if (n == q) continue;
        by_liver = by_liver || liver.voxels[base + n] != 0;
        if (label[n] < 0 && s[n] >= lo && s[n] <= hi) {
          label[n] = 0;
          stack.push_back(n);
        }
      }
      near_liver += by_liver;
    }
    const std::size_t n = c.lumen.pixels.size();
    c.lumen.area_mm2 = n * pixel_mm2;
    if (c.lumen.area_mm2 < 60.0 || c.lumen.area_mm2 > 1500.0 || near_liver == 0) continue;
    c.lumen.x = sx / n;
    c.lumen.y = sy / n;
    c.mean_hu = hu / n;
    // Right of the spine but not lateral to it, in front of the vertebral body but not far.
    if (spine_x && (c.lumen.x > *spine_x - 5.0 || c.lumen.x < *spine_x - 60.0)) continue;
    if (spine_anterior_y &&
        (c.lumen.y > *spine_anterior_y + 10.0 || c.lumen.y < *spine_anterior_y - 60.0))
      continue;
    // A tube's cross-section is compact: its area fills a fair part of the circle through its
    // farthest pixel (a crus, a renal vein or a branching vessel does not).
    double r2 = 0;
    for (std::size_t q : c.lumen.pixels) {
      const Vec3 p = g.index_to_point(static_cast<double>(q % nx), static_cast<double>(q / nx),
                                      static_cast<double>(k));
      r2 = std::max(
          r2, (p[0] - c.lumen.x) * (p[0] - c.lumen.x) + (p[1] - c.lumen.y) * (p[1] - c.lumen.y));
    }
    if (c.lumen.area_mm2 < 0.35 * 3.14159265 * std::max(r2, 1.0)) continue;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

IvcTracing track_ivc(const std::vector<AlignedPhase>& phases, const LabelMap& liver,
                     std::optional<double> spine_x, std::optional<double> spine_anterior_y) {
  IvcTracing out;
  out.per_phase.resize(phases.size());
  out.best.summary =
      "IVC not traced: no phase shows it as a tube brighter than the parenchyma beside the liver";
  if (liver.empty()) return out;
  const Geometry& g = liver.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  if (std::abs(g.axis(2)[2]) < 0.9) return out;  // axial series only
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];
  std::vector<std::size_t> liver_slices;
  for (std::size_t k = 0; k < nz; ++k) {
    std::size_t n = 0;
    for (std::size_t q = 0; q < nx * ny; ++q) n += liver.voxels[k * nx * ny + q] != 0;
    if (n * pixel_mm2 > 100.0) liver_slices.push_back(k);
  }
  if (liver_slices.size() < 4) return out;
  const double dz = std::abs(g.spacing[2]);
  const int half_window = std::max(1, static_cast<int>(std::round(25.0 / dz)));
  const std::size_t needed = std::max<std::size_t>(3, liver_slices.size() / 5);

  for (std::size_t pi = 0; pi < phases.size(); ++pi) {
    const Volume& v = phases[pi].volume;
    if (!v.geometry.same_grid(g)) continue;
    std::vector<double> sample;
    for (std::size_t p = 0; p < v.voxels.size(); p += 7)
      if (liver.voxels[p] && v.voxels[p] > kNoData) sample.push_back(v.voxels[p]);
    if (sample.size() < 1000) continue;
    const double liver_hu = median(sample);

    std::vector<std::vector<Candidate>> per_slice(nz);
    std::vector<double> xs, ys;
    for (std::size_t k : liver_slices) {
      per_slice[k] = candidates_in_slice(v, liver, k, liver_hu, spine_x, spine_anterior_y);
      for (const auto& c : per_slice[k]) {
        xs.push_back(c.lumen.x);
        ys.push_back(c.lumen.y);
      }
    }
    if (xs.empty()) continue;
    // Pick per slice the candidate nearest the overall median centre, twice (the second time
    // around the median of the picks), then keep the picks that line up with their neighbours.
    double mx = median(xs), my = median(ys);
    std::vector<const Candidate*> pick(nz, nullptr);
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<double> px, py;
      for (std::size_t k : liver_slices) {
        pick[k] = nullptr;
        double best_d = 30.0;
        for (const auto& c : per_slice[k]) {
          const double d = std::hypot(c.lumen.x - mx, c.lumen.y - my);
          if (d < best_d) {
            best_d = d;
            pick[k] = &c;
          }
        }
        if (pick[k]) {
          px.push_back(pick[k]->lumen.x);
          py.push_back(pick[k]->lumen.y);
        }
      }
      if (px.empty()) break;
      mx = median(px);
      my = median(py);
    }
    IvcTrack track;
    track.slices.assign(nz, std::nullopt);
    std::vector<double> contrast;
    for (std::size_t k : liver_slices) {
      if (!pick[k]) continue;
      std::vector<double> nxs, nys;
      for (int d = -half_window; d <= half_window; ++d) {
        const long kk = static_cast<long>(k) + d;
        if (d == 0 || kk < 0 || kk >= static_cast<long>(nz) || !pick[kk]) continue;
        nxs.push_back(pick[kk]->lumen.x);
        nys.push_back(pick[kk]->lumen.y);
      }
      if (nxs.size() < 2) continue;  // an isolated bright spot is not a tube
      if (std::hypot(pick[k]->lumen.x - median(nxs), pick[k]->lumen.y - median(nys)) > 12.0)
        continue;
      track.slices[k] = pick[k]->lumen;
      contrast.push_back(pick[k]->mean_hu - liver_hu);
      ++track.found;
    }
    if (track.found < needed) continue;
    track.phase_index = static_cast<int>(pi);
    track.phase_name = phase_name(phases[pi].phase);
    track.contrast_hu = median(contrast);
    std::ostringstream m;
    m << "IVC traced in " << track.found << " of " << liver_slices.size() << " liver slices of the "
      << track.phase_name << " phase (lumen " << fixed(track.contrast_hu, 0)
      << " HU above the parenchyma)";
    track.summary = m.str();
    if (track.found > out.best.found) out.best = track;
    out.per_phase[pi] = std::move(track);
  }
  return out;
}

std::optional<Vec3> ivc_axis(const IvcTrack& track, const Geometry& g) {
  if (track.phase_index < 0) return std::nullopt;
  std::vector<double> xs, ys, zs;
  for (std::size_t k = 0; k < track.slices.size(); ++k) {
    if (!track.slices[k]) continue;
    xs.push_back(track.slices[k]->x);
    ys.push_back(track.slices[k]->y);
    zs.push_back(g.index_to_point(0, 0, static_cast<double>(k))[2]);
  }
  return Vec3{median(xs), median(ys), median(zs)};
}

std::size_t carve_ivc(const IvcTrack& track, LabelMap& liver) {
  if (track.phase_index < 0) return 0;
  const Geometry& g = liver.geometry;
  const std::size_t nx = g.size[0], ny = g.size[1];
  std::size_t removed = 0;
  for (std::size_t k = 0; k < track.slices.size(); ++k) {
    if (!track.slices[k]) continue;
    const std::size_t base = k * nx * ny;
    // The lumen and a one-pixel rim (its partial-volume wall).
    for (std::size_t q : track.slices[k]->pixels) {
      const std::size_t i = q % nx, j = q / nx;
      for (int dj = -1; dj <= 1; ++dj) {
        for (int di = -1; di <= 1; ++di) {
          const long ii = static_cast<long>(i) + di, jj = static_cast<long>(j) + dj;
          if (ii < 0 || jj < 0 || ii >= static_cast<long>(nx) || jj >= static_cast<long>(ny))
            continue;
          auto& voxel = liver.voxels[base + static_cast<std::size_t>(jj) * nx + ii];
          if (voxel) {
            voxel = 0;
            ++removed;
          }
        }
      }
    }
  }
  return removed;
}

LabelMap ivc_lumen_of_any_phase(const IvcTracing& tracing, const Geometry& g) {
  LabelMap lumen(g, 0);
  const std::size_t plane = g.size[0] * g.size[1];
  for (const IvcTrack& track : tracing.per_phase) {
    if (track.phase_index < 0) continue;
    for (std::size_t k = 0; k < track.slices.size() && k < g.size[2]; ++k) {
      if (!track.slices[k]) continue;
      for (std::size_t q : track.slices[k]->pixels)
        if (q < plane) lumen.voxels[k * plane + q] = 1;
    }
  }
  return lumen;
}

}  // namespace livernode::processing::detail
