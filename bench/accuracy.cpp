// Accuracy and cost of the analysis on every case with ground truth: the real HCC cases in
// ../shared/data/real (truth SEGs placed by frame position) and, when given, phantom folders.
//
//   livernode_bench_accuracy [--data SHARED_DATA_DIR] [--phantom PHANTOM_DIR ...]
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <string>
#include <vector>

#include "livernode/dicom/segmentation_reader.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/phantom/metaimage.h"
#include "livernode/processing/analysis.h"

namespace fs = std::filesystem;
using namespace livernode;

namespace {

struct Overlap {
  double dice = 0, volume_a_ml = 0, volume_b_ml = 0;
};

Overlap compare(const processing::LabelMap& a, const processing::LabelMap& b) {
  std::size_t na = 0, nb = 0, both = 0;
  for (std::size_t p = 0; p < a.voxels.size(); ++p) {
    const bool x = a.voxels[p] != 0, y = b.voxels[p] != 0;
    na += x;
    nb += y;
    both += x && y;
  }
  const double v = a.geometry.voxel_volume_ml();
  return {na + nb ? 2.0 * both / (na + nb) : 1.0, na * v, nb * v};
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

void run_case(const std::string& name, const fs::path& ct_dir,
              const std::vector<std::string>& true_phases,
              const std::function<processing::LabelMap(const processing::Geometry&,
                                                       const std::string& series_uid)>& truth) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto scan = dicom::scan_directory(ct_dir);
  std::vector<dicom::LoadedVolume> volumes;
  processing::StudyInput study;
  for (const auto& s : scan.series) volumes.push_back(dicom::load_volume(s));
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    study.series.push_back({scan.series[i].series_uid, &volumes[i].volume, {}});
  }
  const auto result = processing::analyse(study, {});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s\n", name.c_str());
  for (std::size_t i = 0; i < result.series.size(); ++i) {
    const auto& p = result.series[i].phase;
    std::printf("  series %-28s phase %-14s (true %-13s) conf %.2f  aorta %6.0f HU  liver %6.0f HU\n",
                scan.series[i].description.substr(0, 28).c_str(), processing::phase_name(p.phase),
                i < true_phases.size() ? true_phases[i].c_str() : "?", p.confidence,
                p.aorta_hu.value_or(NAN), p.liver_hu.value_or(NAN));
  }
  if (result.liver && result.reference_series >= 0) {
    const auto& ref = scan.series[result.reference_series];
    const auto t = truth(volumes[result.reference_series].volume.geometry, ref.series_uid);
    if (!t.empty()) {
      const Overlap o = compare(result.liver_mask, t);
      std::printf("  liver (on %s): Dice %.3f  volume %.0f mL vs truth %.0f mL (%+.1f %%)\n",
                  ref.description.c_str(), o.dice, o.volume_a_ml, o.volume_b_ml,
                  100.0 * (o.volume_a_ml - o.volume_b_ml) / o.volume_b_ml);
    } else {
      std::printf("  liver volume %.0f mL (no truth on this series)\n", result.liver->volume_ml);
    }
  } else {
    std::printf("  liver: not segmented\n");
  }
  std::printf("  wall %.1f s, peak memory %.0f MB\n", seconds, peak_rss_mb());
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data = LIVERNODE_DEFAULT_SHARED_DATA;
  std::vector<fs::path> phantoms;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    if (a == "--phantom") phantoms.push_back(argv[i + 1]);
  }
  for (const std::string c : {"hcc-tace-0697", "hcc-tace-1720"}) {
    const fs::path dir = data / "real" / c;
    if (!fs::exists(dir)) {
      std::printf("%s: absent, skipped\n", c.c_str());
      continue;
    }
    run_case(c, dir / "ct", {"arterial", "delayed"},
             [&](const processing::Geometry& g, const std::string&) {
               for (const auto& f : fs::directory_iterator(dir / "truth")) {
                 if (f.path().filename().string().find("Liver") == std::string::npos) continue;
                 auto seg = dicom::read_segmentation(f.path(), g);
                 if (!seg.segments.empty()) return seg.segments[0].mask;
               }
               return processing::LabelMap{};
             });
  }
  for (const auto& p : phantoms) {
    std::vector<std::string> phases;
    run_case("phantom " + p.string(), p / "dicom", phases,
             [&](const processing::Geometry& g, const std::string& uid) {
               (void)uid;
               for (const auto& f : fs::directory_iterator(p / "truth")) {
                 if (f.path().extension() != ".mha") continue;
                 auto labels = phantom::read_label_map_mha(f.path());
                 if (!labels.geometry.same_grid(g)) continue;
                 processing::LabelMap liver(g, 0);
                 for (std::size_t i = 0; i < labels.voxels.size(); ++i) {
                   const auto l = labels.voxels[i];
                   liver.voxels[i] = l == 1 || l == 2 || l >= 10;
                 }
                 return liver;
               }
               return processing::LabelMap{};
             });
  }
  return 0;
}
