#pragma once
// Scoring a segmentation against manual truth on one grid: liver overlap and volumes, and
// lesions matched by overlap. Header-only, for the benchmark programs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <queue>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::bench {

// Separate lesions of a mask: its 6-connected parts, numbered 1, 2, ... in scan order.
inline processing::LabelMap label_parts(const processing::LabelMap& mask) {
  const auto& g = mask.geometry;
  processing::LabelMap parts(g, 0);
  const long nx = static_cast<long>(g.size[0]), ny = static_cast<long>(g.size[1]),
             nz = static_cast<long>(g.size[2]);
  std::uint8_t next = 0;
  std::queue<std::array<long, 3>> open;
  for (long k = 0; k < nz; ++k)
    for (long j = 0; j < ny; ++j)
      for (long i = 0; i < nx; ++i) {
        if (!mask.at(i, j, k) || parts.at(i, j, k)) continue;
        if (next < 255) ++next;  // beyond 254 parts the rest share the last number
        parts.at(i, j, k) = next;
        open.push({i, j, k});
        while (!open.empty()) {
          const auto [x, y, z] = open.front();
          open.pop();
          const long steps[6][3] = {{1, 0, 0},  {-1, 0, 0}, {0, 1, 0},
                                    {0, -1, 0}, {0, 0, 1},  {0, 0, -1}};
          for (const auto& s : steps) {
            const long a = x + s[0], b = y + s[1], c = z + s[2];
            if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
            if (!mask.at(a, b, c) || parts.at(a, b, c)) continue;
            parts.at(a, b, c) = next;
            open.push({a, b, c});
          }
        }
      }
  return parts;
}

struct OverlapScore {
  std::size_t found_voxels = 0, truth_voxels = 0, common_voxels = 0;
  double dice() const {
    const std::size_t sum = found_voxels + truth_voxels;
    return sum ? 2.0 * static_cast<double>(common_voxels) / static_cast<double>(sum) : 1.0;
  }
  // Signed volume error of what was found against the truth, in per cent.
  double volume_error_percent() const {
    return truth_voxels
               ? 100.0 * (static_cast<double>(found_voxels) - static_cast<double>(truth_voxels)) /
                     static_cast<double>(truth_voxels)
               : 0.0;
  }
};

inline OverlapScore overlap(const processing::LabelMap& found, const processing::LabelMap& truth) {
  OverlapScore s;
  for (std::size_t p = 0; p < truth.voxels.size() && p < found.voxels.size(); ++p) {
    const bool f = found.voxels[p] != 0, t = truth.voxels[p] != 0;
    s.found_voxels += f;
    s.truth_voxels += t;
    s.common_voxels += f && t;
  }
  return s;
}

// Lesions matched by overlap: a truth lesion is found when a found lesion touches it; a found
// lesion touching no truth lesion is a false one.
struct LesionScore {
  struct Truth {
    int number = 0;
    double volume_ml = 0;
    bool found = false;
    double found_ml = 0;  // the found lesions that touch it
    double dice = 0;
    int most_found = 0;  // the found lesion that covers most of it (0: none)
  };
  std::vector<Truth> truth;
  std::vector<double> false_ml;    // volumes of the false lesions
  std::vector<int> false_numbers;  // and their numbers in `found`
  int found() const {
    int n = 0;
    for (const auto& t : truth) n += t.found;
    return n;
  }
  int missed() const { return static_cast<int>(truth.size()) - found(); }
};

// `found` and `truth` number their lesions 1..n (0 outside), on one grid.
inline LesionScore score_lesions(const processing::LabelMap& found,
                                 const processing::LabelMap& truth) {
  const double voxel_ml = truth.geometry.voxel_volume_ml();
  std::map<int, std::size_t> truth_size, found_size;
  std::map<int, std::map<int, std::size_t>> touching;  // truth -> found -> common voxels
  for (std::size_t p = 0; p < truth.voxels.size() && p < found.voxels.size(); ++p) {
    const int t = truth.voxels[p], f = found.voxels[p];
    if (t) ++truth_size[t];
    if (f) ++found_size[f];
    if (t && f) ++touching[t][f];
  }
  LesionScore score;
  std::map<int, bool> found_matched;
  for (const auto& [t, n] : truth_size) {
    LesionScore::Truth entry;
    entry.number = t;
    entry.volume_ml = static_cast<double>(n) * voxel_ml;
    const auto it = touching.find(t);
    if (it != touching.end()) {
      entry.found = true;
      std::size_t common = 0, size = 0, most = 0;
      for (const auto& [f, c] : it->second) {
        common += c;
        size += found_size[f];
        found_matched[f] = true;
        if (c > most) {
          most = c;
          entry.most_found = f;
        }
      }
      entry.found_ml = static_cast<double>(size) * voxel_ml;
      entry.dice = 2.0 * static_cast<double>(common) / static_cast<double>(n + size);
    }
    score.truth.push_back(entry);
  }
  for (const auto& [f, n] : found_size) {
    if (found_matched.count(f)) continue;
    score.false_ml.push_back(static_cast<double>(n) * voxel_ml);
    score.false_numbers.push_back(f);
  }
  return score;
}

}  // namespace livernode::bench
