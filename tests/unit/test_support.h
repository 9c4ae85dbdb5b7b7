#pragma once
// Paths and helpers shared by the unit tests.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

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

}  // namespace livernode::test

// Skips the current test, with the reason, when a data folder is absent.
#define LIVERNODE_REQUIRE_DATA(path)                                              \
  do {                                                                            \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "test data absent: " << (path); \
  } while (0)
