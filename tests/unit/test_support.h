#pragma once
// Paths and helpers shared by the unit tests.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "livernode/phantom/phantom.h"

namespace livernode::test {

inline std::filesystem::path shared_data() { return LIVERNODE_SHARED_DATA; }

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
#define LIVERNODE_REQUIRE_DATA(path)                                              \
  do {                                                                            \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "test data absent: " << (path); \
  } while (0)
