#pragma once
// Paths and helpers shared by the unit tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/phantom/phantom.h"
#include "livernode/processing/analysis.h"
#include "livernode/study/study_analysis.h"

namespace livernode::test {

inline std::filesystem::path shared_data() { return LIVERNODE_SHARED_DATA; }

// Every series found under `dir`, loaded and analysed together with default options (the
// result's masks lie on the reference series' grid).
inline processing::AnalysisResult analyse_dicom_folder(const std::filesystem::path& dir) {
  const auto scan = dicom::scan_directory(dir);
  std::vector<dicom::LoadedVolume> volumes;
  processing::StudyInput study;
  for (const auto& s : scan.series) volumes.push_back(dicom::load_volume(s));
  for (std::size_t i = 0; i < volumes.size(); ++i)
    study.series.push_back(
        {scan.series[i].series_uid, &volumes[i].volume, study::series_hints(scan.series[i])});
  return processing::analyse(study, {});
}

// A fresh empty directory under the system temp dir, removed by the fixture that owns it.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir;
}

// The bytes of a file (empty when it cannot be read).
inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Mean and standard deviation of an image over the voxels with `label` whose 6 neighbours have it
// too (the interior of a structure, free of partial volume); n = how many there are.
struct ErodedStats {
  double mean = 0.0, sd = 0.0;
  std::size_t n = 0;
};
inline ErodedStats eroded_stats(const processing::Volume& image, const processing::LabelMap& labels,
                                std::uint8_t label) {
  const auto& s = labels.geometry.size;
  double sum = 0.0, sum2 = 0.0;
  ErodedStats st;
  for (std::size_t k = 1; k + 1 < s[2]; ++k) {
    for (std::size_t j = 1; j + 1 < s[1]; ++j) {
      for (std::size_t i = 1; i + 1 < s[0]; ++i) {
        if (labels.at(i, j, k) != label || labels.at(i - 1, j, k) != label ||
            labels.at(i + 1, j, k) != label || labels.at(i, j - 1, k) != label ||
            labels.at(i, j + 1, k) != label || labels.at(i, j, k - 1) != label ||
            labels.at(i, j, k + 1) != label) {
          continue;
        }
        const double v = image.at(i, j, k);
        sum += v;
        sum2 += v * v;
        ++st.n;
      }
    }
  }
  if (st.n > 0) {
    st.mean = sum / static_cast<double>(st.n);
    st.sd = std::sqrt(std::max(0.0, sum2 / static_cast<double>(st.n) - st.mean * st.mean));
  }
  return st;
}

// A small, fast phantom (128 x 128, 3 mm pixels, 5 mm slices) with the portal venous phase only,
// for tests about plumbing rather than accuracy.
inline phantom::PhantomOptions small_portal_venous_phantom(unsigned seed) {
  phantom::PhantomOptions o;
  o.seed = seed;
  o.matrix = 128;
  o.pixel_spacing_mm = 3.0;
  o.slice_thickness_mm = 5.0;
  o.phases = {processing::Phase::kPortalVenous};
  return o;
}

}  // namespace livernode::test

// Skips the current test, with the reason, when a data folder is absent.
#define LIVERNODE_REQUIRE_DATA(path)                                                    \
  do {                                                                                  \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "test data absent: " << (path); \
  } while (0)
