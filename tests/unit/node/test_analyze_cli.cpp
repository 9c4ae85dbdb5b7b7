// `livernode` on the command line: its exit codes tell a wrong command line (64) from unusable
// input (2) and from success (0), without analysing a study.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"

using namespace livernode;
namespace fs = std::filesystem;

TEST(AnalyzeCli, ExitCodesTellUsageFromBadInputFromSuccess) {
  const std::string bin = LIVERNODE_BINARY;
  const auto dir = test::make_temp_dir("livernode-cli");
  auto run = [&](const std::string& args) {
    const int status = std::system((bin + " " + args + " >/dev/null 2>&1").c_str());
    return WEXITSTATUS(status);
  };
  EXPECT_EQ(run(""), 64);
  EXPECT_EQ(run("frobnicate"), 64);
  EXPECT_EQ(run("analyze"), 64);
  EXPECT_EQ(run("analyze " + dir.string() + " --out"), 64);
  EXPECT_EQ(run("analyze " + (dir / "absent").string() + " --out " + (dir / "o").string()), 2);
  // A folder of garbage: no usable series, a summary listing the rejected file.
  std::ofstream(dir / "garbage.dcm") << "this is not DICOM";
  EXPECT_EQ(run("analyze " + dir.string() + " --out " + (dir / "o").string()), 2);
  std::ifstream in(dir / "o" / "summary.json");
  const auto summary = nlohmann::json::parse(in);
  ASSERT_EQ(summary["rejected_files"].size(), 1u);
  EXPECT_NE(summary["rejected_files"][0]["reason"].get<std::string>().find("not a readable DICOM"),
            std::string::npos);
  EXPECT_EQ(run("version"), 0);
  EXPECT_EQ(
      run("check-config " + std::string(LIVERNODE_SOURCE_DIR) + "/config/livernode.example.yaml"),
      0);
  std::ofstream(dir / "bad.yaml") << "node:\n  port: 70000\n";
  EXPECT_EQ(run("check-config " + (dir / "bad.yaml").string()), 2);
  fs::remove_all(dir);
}
