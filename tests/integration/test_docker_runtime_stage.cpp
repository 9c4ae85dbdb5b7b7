// docker/: the runtime stage of the Dockerfile installs the Debian package of every library this
// build's binary links (readelf, ldd and dpkg -S on the binary), so the image runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "orthanc_peer.h"

namespace fs = std::filesystem;
using livernode::test::run_command;

namespace {

const fs::path kDocker = fs::path(LIVERNODE_SOURCE_DIR) / "docker";

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << "cannot read " << file;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(DockerFiles, RuntimeStageInstallsThePackagesOfEveryLinkedLibrary) {
  const std::string dockerfile = read_text(kDocker / "Dockerfile");
  EXPECT_TRUE(contains(dockerfile, "FROM debian:bookworm-slim AS build"));
  EXPECT_TRUE(contains(dockerfile, "bash scripts/install-deps.sh"));
  EXPECT_TRUE(contains(dockerfile, "bash scripts/build.sh"));
  EXPECT_TRUE(contains(dockerfile, "COPY docker/livernode.yaml /etc/livernode/livernode.yaml"));
  const auto runtime_at = dockerfile.find("FROM debian:bookworm-slim AS runtime");
  ASSERT_NE(runtime_at, std::string::npos);
  const std::string runtime = dockerfile.substr(runtime_at);

  if (run_command("command -v readelf && command -v dpkg-query").status != 0)
    GTEST_SKIP() << "readelf (binutils) or dpkg absent: cannot map the binary's libraries";
  const std::string binary = LIVERNODE_BINARY;
  const auto needed =
      run_command("readelf -d " + binary + " | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'");
  ASSERT_EQ(needed.status, 0);
  const auto ldd = run_command("ldd " + binary);
  std::set<std::string> packages;
  std::istringstream libs(needed.output);
  for (std::string lib; std::getline(libs, lib);) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        ldd.output, m,
        std::regex("\\s" + std::regex_replace(lib, std::regex("[.+]"), "\\$&") + " => (\\S+)")))
        << lib << " not resolved by ldd:\n"
        << ldd.output;
    // dpkg knows a library under /lib or /usr/lib (merged /usr): try both spellings.
    const std::string path = m[1];
    auto owner = run_command("dpkg -S " + path + " 2>/dev/null || dpkg -S /usr" + path +
                             " 2>/dev/null || dpkg -S $(realpath " + path + ")");
    ASSERT_EQ(owner.status, 0) << lib << ": " << owner.output;
    packages.insert(owner.output.substr(0, owner.output.find_first_of(":")));
  }
  ASSERT_FALSE(packages.empty());
  for (const auto& package : packages) {
    if (package == "libc6" || package == "libgcc-s1") continue;  // in every Debian image
    EXPECT_TRUE(std::regex_search(
        runtime, std::regex("\\n\\s+" + std::regex_replace(package, std::regex("[.+]"), "\\$&") +
                            " \\\\\\n")))
        << "the runtime stage does not install " << package << " (the binary links it)";
  }
}

}  // namespace
