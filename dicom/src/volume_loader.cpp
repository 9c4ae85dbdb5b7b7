#include "livernode/dicom/volume_loader.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "geometry_util.h"
#include "livernode/dicom/error.h"
#include "pixel_decoder.h"

namespace livernode::dicom {

namespace {

using Plane = std::vector<float>;  // rows x columns, row after row

// Reads every slice of the series in sorted order, each file decoded once.
std::vector<Plane> read_planes(const SeriesInfo& series) {
  std::map<std::filesystem::path, std::vector<std::size_t>> by_file;
  for (std::size_t i = 0; i < series.slices.size(); ++i)
    by_file[series.slices[i].file].push_back(i);
  const std::size_t plane_size = static_cast<std::size_t>(series.rows) * series.columns;
  std::vector<Plane> planes(series.slices.size());
  for (const auto& [file, indices] : by_file) {
    detail::DecodedFrames decoded = detail::decode_frames(file);
    if (decoded.rows != series.rows || decoded.columns != series.columns) {
      throw DicomError(ErrorKind::kInconsistent,
                       file.string() + ": decoded matrix " + std::to_string(decoded.rows) + "x" +
                           std::to_string(decoded.columns) + " differs from its header");
    }
    for (std::size_t index : indices) {
      const SliceRef& slice = series.slices[index];
      if (slice.frame >= decoded.frames) {
        throw DicomError(ErrorKind::kDecode, file.string() + ": frame " +
                                                 std::to_string(slice.frame + 1) + " is missing");
      }
      const float* src = decoded.values.data() + slice.frame * plane_size;
      Plane& plane = planes[index];
      plane.resize(plane_size);
      const float slope = static_cast<float>(slice.rescale_slope);
      const float intercept = static_cast<float>(slice.rescale_intercept);
      for (std::size_t p = 0; p < plane_size; ++p) plane[p] = src[p] * slope + intercept;
    }
  }
  return planes;
}

// Bilinear sample of a plane at continuous (x, y) pixel coordinates; `outside` beyond the edge.
float sample(const Plane& plane, unsigned columns, unsigned rows, double x, double y,
             float outside) {
  if (x < -0.5 || y < -0.5 || x > columns - 0.5 || y > rows - 0.5) return outside;
  const double cx = std::clamp(x, 0.0, static_cast<double>(columns - 1));
  const double cy = std::clamp(y, 0.0, static_cast<double>(rows - 1));
  const unsigned x0 = static_cast<unsigned>(std::floor(cx));
  const unsigned y0 = static_cast<unsigned>(std::floor(cy));
  const unsigned x1 = std::min(x0 + 1, columns - 1);
  const unsigned y1 = std::min(y0 + 1, rows - 1);
  const double fx = cx - x0, fy = cy - y0;
  auto at = [&](unsigned xx, unsigned yy) {
    return plane[static_cast<std::size_t>(yy) * columns + xx];
  };
  return static_cast<float>((at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) +
                            (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy);
}

// Gantry tilt: shifts every slice in its plane so that all lie on the grid of the first one.
void correct_tilt(const SeriesInfo& series, std::vector<Plane>& planes) {
  const Vec3 row = series.row_direction(), col = series.column_direction();
  const Vec3 origin = series.slices.front().position;
  for (std::size_t s = 1; s < planes.size(); ++s) {
    const Vec3 d = detail::sub(series.slices[s].position, origin);
    const double dx = detail::dot(d, row) / series.pixel_spacing[1];
    const double dy = detail::dot(d, col) / series.pixel_spacing[0];
    if (std::abs(dx) < 1e-3 && std::abs(dy) < 1e-3) continue;
    const Plane& in = planes[s];
    const float outside = *std::min_element(in.begin(), in.end());
    Plane out(in.size());
    for (unsigned y = 0; y < series.rows; ++y) {
      for (unsigned x = 0; x < series.columns; ++x) {
        out[static_cast<std::size_t>(y) * series.columns + x] =
            sample(in, series.columns, series.rows, x - dx, y - dy, outside);
      }
    }
    planes[s] = std::move(out);
  }
}

}  // namespace

LoadedVolume load_volume(const SeriesInfo& series) {
  if (series.slices.empty()) {
    throw DicomError(ErrorKind::kInconsistent, "series " + series.series_uid + " has no slices");
  }
  std::vector<Plane> planes = read_planes(series);
  LoadedVolume loaded;
  loaded.warnings = series.warnings;
  if (series.gantry_tilt_deg > 0.1) correct_tilt(series, planes);

  // Regular grid along the normal: spacing = median gap, slices interpolated where missing.
  const double first = series.slices.front().normal_position;
  const double last = series.slices.back().normal_position;
  const double spacing = series.slice_spacing > 0 ? series.slice_spacing : 1.0;
  const std::size_t depth =
      series.slices.size() < 2
          ? 1
          : static_cast<std::size_t>(std::llround((last - first) / spacing)) + 1;

  processing::Geometry& g = loaded.volume.geometry;
  g.size = {series.columns, series.rows, depth};
  g.spacing = {series.pixel_spacing[1], series.pixel_spacing[0], spacing};
  g.origin = series.slices.front().position;
  const Vec3 r = series.row_direction(), c = series.column_direction(), n = series.normal();
  for (int i = 0; i < 3; ++i) {
    g.direction[i * 3 + 0] = r[i];
    g.direction[i * 3 + 1] = c[i];
    g.direction[i * 3 + 2] = n[i];
  }
  const std::size_t plane_size = static_cast<std::size_t>(series.rows) * series.columns;
  loaded.volume.voxels.resize(plane_size * depth);
  loaded.source_slice.assign(depth, -1);
  std::size_t interpolated = 0;
  std::size_t upper = 0;
  for (std::size_t k = 0; k < depth; ++k) {
    const double z = first + k * spacing;
    while (upper + 1 < series.slices.size() && series.slices[upper].normal_position < z - 1e-6) {
      ++upper;
    }
    float* dst = loaded.volume.voxels.data() + k * plane_size;
    const double zu = series.slices[upper].normal_position;
    if (std::abs(zu - z) <= 0.1 * spacing || upper == 0) {
      std::copy(planes[upper].begin(), planes[upper].end(), dst);
      loaded.source_slice[k] = static_cast<int>(upper);
      continue;
    }
    const std::size_t lower = upper - 1;
    const double zl = series.slices[lower].normal_position;
    if (std::abs(z - zl) <= 0.1 * spacing) {
      std::copy(planes[lower].begin(), planes[lower].end(), dst);
      loaded.source_slice[k] = static_cast<int>(lower);
      continue;
    }
    const float w = static_cast<float>((z - zl) / (zu - zl));
    for (std::size_t p = 0; p < plane_size; ++p) {
      dst[p] = planes[lower][p] * (1 - w) + planes[upper][p] * w;
    }
    ++interpolated;
  }
  if (interpolated > 0) {
    loaded.warnings.push_back(std::to_string(interpolated) +
                              " slice(s) interpolated to fill gaps in the series");
  }
  return loaded;
}

}  // namespace livernode::dicom
