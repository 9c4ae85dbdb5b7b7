// Builds the liver atlas built into the program (processing/data/liver_atlas.bin) from the real
// cases with a manual liver in ../shared/data/real, or with --leave-out NAME from all but that one.
//
//   livernode_bench_atlas --out FILE [--data SHARED_DATA_DIR] [--leave-out CASE]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "atlas_cases.h"

namespace fs = std::filesystem;
using namespace livernode;

int main(int argc, char** argv) {
  fs::path data = LIVERNODE_DEFAULT_SHARED_DATA, out;
  std::string leave_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    if (a == "--out") out = argv[i + 1];
    if (a == "--leave-out") leave_out = argv[i + 1];
  }
  if (out.empty()) {
    std::fprintf(stderr,
                 "usage: livernode_bench_atlas --out FILE [--data DIR] [--leave-out CASE]\n");
    return 2;
  }
  std::vector<processing::AtlasSample> samples;
  std::string names;
  for (auto& s : bench::real_atlas_samples(data)) {
    if (s.case_name == leave_out) continue;
    names += (names.empty() ? "" : ", ") + s.case_name;
    samples.push_back(std::move(s.sample));
  }
  const auto atlas = processing::build_liver_atlas(samples, "manual livers of " + names);
  if (atlas.empty()) {
    std::fprintf(stderr, "no case with a manual liver and a measurable frame under %s\n",
                 data.c_str());
    return 1;
  }
  std::ofstream(out, std::ios::binary) << processing::serialise_liver_atlas(atlas);
  std::printf("%s: atlas of %d livers (%s)\n", out.c_str(), atlas.cases, names.c_str());
  return 0;
}
