#pragma once
// Paths and helpers shared by the unit tests.
#include <gtest/gtest.h>

#include <filesystem>
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
