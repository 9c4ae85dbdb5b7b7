#include "livernode/processing/liver_atlas.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "atlas_prior.h"
#include "mask_ops.h"
#include "median.h"

namespace livernode::processing {

// The atlas file built into the program (generated at build time from processing/data).
extern const unsigned char kBuiltinLiverAtlasBytes[];
extern const std::size_t kBuiltinLiverAtlasSize;

namespace {

constexpr std::size_t kCells = LiverAtlas::kSize[0] * LiverAtlas::kSize[1] * LiverAtlas::kSize[2];
constexpr char kMagic[] = "LIVERNODE-LIVER-ATLAS 1";
// Smoothing of the mean of the training livers, in cells: 2.5 cells are about 15 mm in an
// adult, the scale of the differences between livers the few training cases cannot show.
constexpr double kSmoothingCells = 2.5;
// Sub-cell sampling of a training mask (per axis).
constexpr int kSubsamples = 2;

std::size_t cell(std::size_t a, std::size_t b, std::size_t c) {
  return (c * LiverAtlas::kSize[1] + b) * LiverAtlas::kSize[0] + a;
}

}  // namespace

double LiverAtlas::at(const Vec3& uvw) const {
  if (probability.empty()) return 0.0;
  double f[3];
  long i0[3];
  for (int a = 0; a < 3; ++a) {
    const double x = (uvw[a] - kLow[a]) / kStep - 0.5;
    if (x < 0.0 || x > static_cast<double>(kSize[a] - 1)) return 0.0;
    i0[a] = std::min(static_cast<long>(x), static_cast<long>(kSize[a]) - 2);
    f[a] = x - i0[a];
  }
  double sum = 0.0;
  for (int dc = 0; dc < 2; ++dc)
    for (int db = 0; db < 2; ++db)
      for (int da = 0; da < 2; ++da) {
        const double w = (da ? f[0] : 1 - f[0]) * (db ? f[1] : 1 - f[1]) * (dc ? f[2] : 1 - f[2]);
        sum += w * probability[cell(i0[0] + da, i0[1] + db, i0[2] + dc)];
      }
  return sum;
}

AtlasSample liver_atlas_sample(const Volume& volume, const LabelMap& liver) {
  AtlasSample sample;
  const auto survey = detail::survey_abdomen(volume);
  const auto frame = detail::measure_atlas_frame(survey);
  if (!frame || !liver.geometry.same_grid(volume.geometry)) return sample;
  sample.inside.assign(kCells, 0.0f);
  sample.covered.assign(kCells, 0.0f);
  const Geometry& g = liver.geometry;
  const double step = LiverAtlas::kStep / kSubsamples;
  for (std::size_t c = 0; c < LiverAtlas::kSize[2]; ++c)
    for (std::size_t b = 0; b < LiverAtlas::kSize[1]; ++b)
      for (std::size_t a = 0; a < LiverAtlas::kSize[0]; ++a) {
        int in = 0, seen = 0;
        for (int sc = 0; sc < kSubsamples; ++sc)
          for (int sb = 0; sb < kSubsamples; ++sb)
            for (int sa = 0; sa < kSubsamples; ++sa) {
              const double u = LiverAtlas::kLow[0] + a * LiverAtlas::kStep + (sa + 0.5) * step;
              const double v = LiverAtlas::kLow[1] + b * LiverAtlas::kStep + (sb + 0.5) * step;
              const double w = LiverAtlas::kLow[2] + c * LiverAtlas::kStep + (sc + 0.5) * step;
              const Vec3 index = g.point_to_index(frame->to_patient(u, v, w));
              long ijk[3];
              bool inside_grid = true;
              for (int d = 0; d < 3; ++d) {
                ijk[d] = std::lround(index[d]);
                inside_grid = inside_grid && ijk[d] >= 0 && ijk[d] < static_cast<long>(g.size[d]);
              }
              if (!inside_grid) continue;
              ++seen;
              in += liver.at(ijk[0], ijk[1], ijk[2]) != 0;
            }
        if (seen == 0) continue;
        sample.covered[cell(a, b, c)] = 1.0f;
        sample.inside[cell(a, b, c)] = static_cast<float>(in) / seen;
      }
  return sample;
}

LiverAtlas build_liver_atlas(const std::vector<AtlasSample>& samples, std::string source) {
  LiverAtlas atlas;
  Geometry grid;
  grid.size = LiverAtlas::kSize;
  Volume sum(grid, 0.0f), weight(grid, 0.0f);
  for (const auto& s : samples) {
    if (s.empty()) continue;
    ++atlas.cases;
    for (std::size_t p = 0; p < kCells; ++p) {
      sum.voxels[p] += s.inside[p] * s.covered[p];
      weight.voxels[p] += s.covered[p];
    }
  }
  if (atlas.cases == 0) return atlas;
  sum = detail::gaussian_mm(sum, kSmoothingCells);
  weight = detail::gaussian_mm(weight, kSmoothingCells);
  atlas.probability.assign(kCells, 0.0f);
  for (std::size_t p = 0; p < kCells; ++p) {
    atlas.probability[p] =
        weight.voxels[p] > 0.05f ? std::clamp(sum.voxels[p] / weight.voxels[p], 0.0f, 1.0f) : 0.0f;
  }
  atlas.source = std::move(source);
  return atlas;
}

std::string serialise_liver_atlas(const LiverAtlas& atlas) {
  std::ostringstream out;
  out << kMagic << " " << LiverAtlas::kSize[0] << " " << LiverAtlas::kSize[1] << " "
      << LiverAtlas::kSize[2] << " " << atlas.cases << " " << atlas.source << "\n";
  std::string bytes = out.str();
  bytes.reserve(bytes.size() + kCells);
  for (std::size_t p = 0; p < kCells; ++p) {
    const float v = atlas.probability.empty() ? 0.0f : atlas.probability[p];
    bytes.push_back(static_cast<char>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f)));
  }
  return bytes;
}

LiverAtlas parse_liver_atlas(const std::string& bytes) {
  LiverAtlas atlas;
  const auto eol = bytes.find('\n');
  if (eol == std::string::npos || bytes.compare(0, sizeof kMagic - 1, kMagic) != 0) return atlas;
  std::istringstream header(bytes.substr(sizeof kMagic - 1, eol - (sizeof kMagic - 1)));
  std::size_t nu = 0, nv = 0, nw = 0;
  int cases = 0;
  header >> nu >> nv >> nw >> cases;
  std::string source;
  std::getline(header >> std::ws, source);
  if (!header.eof() && header.fail()) return atlas;
  if (nu != LiverAtlas::kSize[0] || nv != LiverAtlas::kSize[1] || nw != LiverAtlas::kSize[2] ||
      bytes.size() != eol + 1 + kCells) {
    return atlas;
  }
  atlas.probability.resize(kCells);
  for (std::size_t p = 0; p < kCells; ++p) {
    atlas.probability[p] = static_cast<unsigned char>(bytes[eol + 1 + p]) / 255.0f;
  }
  atlas.cases = cases;
  atlas.source = source;
  return atlas;
}

const LiverAtlas& builtin_liver_atlas() {
  static const LiverAtlas atlas = parse_liver_atlas(
      std::string(reinterpret_cast<const char*>(kBuiltinLiverAtlasBytes), kBuiltinLiverAtlasSize));
  return atlas;
}

namespace detail {

// The scales are measured from the lung base down to 12 cm below it, where the liver lies.
constexpr double kScaleLevelsBelowBaseMm = 120.0;

std::optional<AtlasFrame> measure_atlas_frame(const AbdomenSurvey& survey, std::string* why_not) {
  auto fail = [&](const char* why) -> std::optional<AtlasFrame> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  if (!survey.axial) return fail("the series is not axial");
  if (!survey.right_lung_base_z)
    return fail("the series shows no lung, so the diaphragm's level is unknown");
  if (!survey.spine_x || !survey.spine_anterior_y) return fail("no spine found in the series");
  const Geometry& g = survey.coarse.geometry;
  AtlasFrame f;
  f.x0 = *survey.spine_x;
  f.y0 = *survey.spine_anterior_y;
  f.z0 = *survey.right_lung_base_z;
  std::vector<double> lateral, depth, behind;
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    const double z = g.index_to_point(0, 0, static_cast<double>(k))[2];
    if (z > f.z0 || z < f.z0 - kScaleLevelsBelowBaseMm) continue;
    double right = 1e9, front = 1e9, back = -1e9;
    for (std::size_t j = 0; j < g.size[1]; ++j)
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        if (!survey.body.at(i, j, k)) continue;
        const Vec3 p = g.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                        static_cast<double>(k));
        right = std::min(right, p[0]);
        front = std::min(front, p[1]);
        back = std::max(back, p[1]);
      }
    if (right > 1e8) continue;
    lateral.push_back(f.x0 - right);
    depth.push_back(f.y0 - front);
    behind.push_back(back - f.y0);
  }
  if (lateral.size() < 2) return fail("the series covers too little below the lung base");
  f.lateral_mm = median(lateral);
  f.depth_mm = median(depth);
  // The atlas is of supine patients seen in LPS, the abdomen in front of the spine much deeper
  // than the back behind it. A patient lying prone (or an image whose orientation is not what
  // its header says) is not placed on it.
  if (f.depth_mm < median(behind))
    return fail("more of the body lies behind the spine than in front of it (prone position?)");
  // A trunk narrower than a small child's is not a body outline to trust.
  if (f.lateral_mm < 60.0 || f.depth_mm < 40.0)
    return fail("the body outline is too small to place the atlas");
  return f;
}

Volume atlas_probability(const LiverAtlas& atlas, const AtlasFrame& frame, const Geometry& grid) {
  Volume region(grid, 0.0f);
  for (std::size_t k = 0; k < grid.size[2]; ++k)
    for (std::size_t j = 0; j < grid.size[1]; ++j)
      for (std::size_t i = 0; i < grid.size[0]; ++i) {
        const Vec3 p = grid.index_to_point(static_cast<double>(i), static_cast<double>(j),
                                           static_cast<double>(k));
        region.at(i, j, k) = static_cast<float>(atlas.at(frame.to_atlas(p)));
      }
  return region;
}

}  // namespace detail

}  // namespace livernode::processing
