#pragma once
// The real cases with a manual liver in ../shared/data/real as atlas samples: each on the series
// its truth was drawn on. Header-only, for the benchmark programs.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "case_truth.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/processing/liver_atlas.h"

namespace livernode::bench {

struct NamedAtlasSample {
  std::string case_name;
  processing::AtlasSample sample;
};

// The HCC cases' truth SEGs name their series; chaos-ct has one series and PNG truth.
inline std::vector<NamedAtlasSample> real_atlas_samples(const std::filesystem::path& data) {
  std::vector<NamedAtlasSample> samples;
  for (const std::string c : {"hcc-tace-0697", "hcc-tace-1720", "hcc-tace-2144", "chaos-ct"}) {
    const auto dir = data / "real" / c;
    if (!std::filesystem::exists(dir)) continue;
    const auto scan = dicom::scan_directory(dir / "ct");
    for (const auto& s : scan.series) {
      const auto loaded = dicom::load_volume(s);
      const auto& g = loaded.volume.geometry;
      const CaseTruth truth = c == "chaos-ct"
                                  ? png_truth(dir / "ct", dir / "truth" / "liver-png", g)
                                  : seg_truth(dir / "truth", g);
      if (truth.liver.empty()) continue;
      if (!truth.drawn_on_series_uid.empty() && truth.drawn_on_series_uid != s.series_uid) continue;
      auto sample = processing::liver_atlas_sample(loaded.volume, truth.liver);
      std::fprintf(stderr, "atlas sample %s: %s\n", c.c_str(),
                   sample.empty() ? "frame not measurable" : "taken");
      if (!sample.empty()) samples.push_back({c, std::move(sample)});
      break;
    }
  }
  return samples;
}

}  // namespace livernode::bench
