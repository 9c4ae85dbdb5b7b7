// Accuracy and cost of the analysis on every case with ground truth: the real HCC cases in
// ../shared/data/real (truth SEGs placed by frame position) and, when given, phantom folders.
// With --timing DIR it also analyses DIR (e.g. a two-phase 512 x 512 x 200 phantom written by
// `livernode phantom`) for wall time and peak memory.
//
//   livernode_bench_accuracy [--data SHARED_DATA_DIR] [--phantom PHANTOM_DIR ...] [--timing DIR]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "livernode/dicom/segmentation_reader.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/node/huge_pages.h"
#include "livernode/phantom/metaimage.h"
#include "livernode/processing/analysis.h"

namespace fs = std::filesystem;
using namespace livernode;

namespace {

// Truth on the reference series' grid: the liver, and the lesions numbered 1..n (0 none).
struct Truth {
  processing::LabelMap liver;
  processing::LabelMap lesions;
  std::map<int, double> lesion_diameter_mm;  // when known: smaller ones need not be found
  std::map<int, std::string> lesion_type;    // when known, as the phantom names it
};
// The true phase of a series (by its UID and description), or "?" when unknown.
using PhaseTruth = std::function<std::string(const dicom::SeriesInfo&)>;
using TruthSource = std::function<Truth(const processing::Geometry&)>;

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// Connected components of a mask (6-connectivity), numbered from 1.
processing::LabelMap number_components(const processing::LabelMap& mask) {
  const auto& g = mask.geometry;
  processing::LabelMap out(g, 0);
  int next = 0;
  std::vector<std::size_t> stack;
  const std::size_t nx = g.size[0], nxy = g.size[0] * g.size[1];
  for (std::size_t start = 0; start < mask.voxels.size(); ++start) {
    if (!mask.voxels[start] || out.voxels[start]) continue;
    out.voxels[start] = static_cast<std::uint8_t>(++next);
    stack.assign(1, start);
    while (!stack.empty()) {
      const std::size_t p = stack.back();
      stack.pop_back();
      const std::size_t i = p % nx, j = (p / nx) % g.size[1], k = p / nxy;
      const std::size_t nb[6] = {i > 0 ? p - 1 : p, i + 1 < nx ? p + 1 : p,
                                 j > 0 ? p - nx : p, j + 1 < g.size[1] ? p + nx : p,
                                 k > 0 ? p - nxy : p, k + 1 < g.size[2] ? p + nxy : p};
      for (std::size_t q : nb) {
        if (mask.voxels[q] && !out.voxels[q]) {
          out.voxels[q] = static_cast<std::uint8_t>(next);
          stack.push_back(q);
        }
      }
    }
  }
  return out;
}

void run_case(const std::string& name, const fs::path& ct_dir,
              const PhaseTruth& true_phase, const TruthSource& truth_source) {
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
    std::printf("  series %-28s phase %-14s (true %-13s) conf %.2f  aorta %4.0f  portal vein %4.0f  liver %4.0f HU\n",
                scan.series[i].description.substr(0, 28).c_str(), processing::phase_name(p.phase),
                true_phase ? true_phase(scan.series[i]).c_str() : "?", p.confidence,
                p.aorta_hu.value_or(NAN), p.portal_vein_hu.value_or(NAN), p.liver_hu.value_or(NAN));
  }
  if (!result.liver || result.reference_series < 0) {
    std::printf("  liver: not segmented\n  wall %.1f s, peak memory %.0f MB\n", seconds, peak_rss_mb());
    return;
  }
  const auto& geometry = volumes[result.reference_series].volume.geometry;
  const Truth truth = truth_source ? truth_source(geometry) : Truth{};
  const double voxel_ml = geometry.voxel_volume_ml();
  if (!truth.liver.empty()) {
    std::size_t a = 0, b = 0, both = 0;
    for (std::size_t p = 0; p < truth.liver.voxels.size(); ++p) {
      const bool x = result.liver_mask.voxels[p] != 0, y = truth.liver.voxels[p] != 0;
      a += x;
      b += y;
      both += x && y;
    }
    std::printf("  liver (on %s): Dice %.4f  volume %.0f mL vs truth %.0f mL (%+.1f %%)\n",
                scan.series[result.reference_series].description.c_str(), 2.0 * both / (a + b),
                a * voxel_ml, b * voxel_ml, 100.0 * (double(a) - double(b)) / b);
  } else {
    std::printf("  liver volume %.0f mL (no truth)\n", result.liver->volume_ml);
  }
  if (!truth.lesions.empty()) {
    // A truth lesion is found when a detected lesion overlaps it; a detected lesion that
    // overlaps no truth lesion is a false positive.
    std::map<int, std::size_t> truth_voxels;
    std::map<int, std::map<int, std::size_t>> overlap;  // truth -> detected -> voxels
    std::map<int, std::size_t> detected_overlap;
    for (std::size_t p = 0; p < truth.lesions.voxels.size(); ++p) {
      const int t = truth.lesions.voxels[p], d = result.lesion_labels.voxels[p];
      if (t) ++truth_voxels[t];
      if (t && d) {
        ++overlap[t][d];
        ++detected_overlap[d];
      }
    }
    int found = 0, missed = 0, ignored = 0;
    double truth_total = 0, found_truth = 0, found_detected = 0;
    for (const auto& [t, n] : truth_voxels) {
      truth_total += n * voxel_ml;
      const auto diameter = truth.lesion_diameter_mm.find(t);
      const bool required = diameter == truth.lesion_diameter_mm.end() || diameter->second >= 10.0;
      const bool hit = overlap.count(t) > 0;
      if (hit) {
        ++found;
        found_truth += n * voxel_ml;
        double det = 0;
        std::size_t common = 0;
        for (const auto& [d, v] : overlap[t]) {
          det += result.lesions[d - 1].volume_ml;
          common += v;
        }
        found_detected += det;
        // Dice of the truth lesion with the detected lesions that overlap it.
        const double dice = 2.0 * common * voxel_ml / (n * voxel_ml + det);
        std::printf("    truth lesion %d: %.2f mL, found as %.2f mL (%+.0f %%), Dice %.2f", t,
                    n * voxel_ml, det, 100.0 * (det - n * voxel_ml) / (n * voxel_ml), dice);
        const auto type = truth.lesion_type.find(t);
        if (type != truth.lesion_type.end()) {
          // The type of the detected lesion that covers most of it.
          const auto most = std::max_element(
              overlap[t].begin(), overlap[t].end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
          std::printf(", type %s (true %s)",
                      processing::lesion_type_name(result.lesions[most->first - 1].type),
                      type->second.c_str());
        }
        std::printf("\n");
      } else if (required) {
        ++missed;
        std::printf("    truth lesion %d: %.2f mL, missed\n", t, n * voxel_ml);
      } else {
        ++ignored;
      }
    }
    int false_positives = 0;
    for (const auto& l : result.lesions) {
      if (detected_overlap.count(l.number)) continue;
      ++false_positives;
      std::printf("    false positive: %.2f mL, %.0f x %.0f mm, %s, at (%.0f, %.0f, %.0f)\n",
                  l.volume_ml, l.longest_diameter_mm, l.short_axis_mm,
                  processing::lesion_type_name(l.type), l.centroid_lps[0], l.centroid_lps[1],
                  l.centroid_lps[2]);
    }
    std::printf("  lesions: %d found, %d missed, %d false positive(s)%s; tumour volume %.1f mL "
                "detected vs %.1f mL truth\n",
                found, missed, false_positives,
                ignored ? " (truth lesions under 10 mm not required)" : "",
                result.volumetry ? result.volumetry->tumour_ml : 0.0, truth_total);
  }
  std::printf("  wall %.1f s, peak memory %.0f MB\n", seconds, peak_rss_mb());
}

Truth real_truth(const fs::path& truth_dir, const processing::Geometry& g) {
  Truth t;
  for (const auto& f : fs::directory_iterator(truth_dir)) {
    const std::string n = f.path().filename().string();
    auto seg = dicom::read_segmentation(f.path(), g);
    if (seg.segments.empty()) continue;
    if (n.find("Liver") != std::string::npos) t.liver = seg.segments[0].mask;
    if (n.find("Tumor") != std::string::npos) t.lesions = number_components(seg.segments[0].mask);
  }
  return t;
}

nlohmann::json phantom_manifest(const fs::path& dir) {
  std::ifstream in(dir / "truth" / "manifest.json");
  if (!in) return nlohmann::json::object();
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// The phantom's series phases, by series UID, from its manifest.
PhaseTruth phantom_phases(const fs::path& dir) {
  std::map<std::string, std::string> phase_of;
  const auto manifest = phantom_manifest(dir);
  if (manifest.is_object()) {
    for (const auto& s : manifest.value("series", nlohmann::json::array()))
      phase_of[s.value("series_uid", "")] = s.value("phase", "?");
  }
  return [phase_of](const dicom::SeriesInfo& s) {
    const auto it = phase_of.find(s.series_uid);
    return it == phase_of.end() ? std::string("?") : it->second;
  };
}

Truth phantom_truth(const fs::path& dir, const processing::Geometry& g) {
  Truth t;
  const auto labels = phantom::read_label_map_mha(dir / "truth" / "labels_portal_venous.mha");
  if (!labels.geometry.same_grid(g)) return t;
  t.liver = processing::LabelMap(g, 0);
  t.lesions = processing::LabelMap(g, 0);
  for (std::size_t i = 0; i < labels.voxels.size(); ++i) {
    const auto l = labels.voxels[i];
    t.liver.voxels[i] = l == 1 || l == 2 || l >= 10;
    if (l >= 10) t.lesions.voxels[i] = static_cast<std::uint8_t>(l - 9);
  }
  // The manifest's diameters tell which lesions must be found; it also gives their type.
  for (const auto& lesion : phantom_manifest(dir).value("lesions", nlohmann::json::array())) {
    const int label = lesion.value("label", 0);
    if (label < 10) continue;
    t.lesion_diameter_mm[label - 9] = lesion.value("longest_axial_diameter_mm", 0.0);
    t.lesion_type[label - 9] = lesion.value("type", "");
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  livernode::node::use_huge_pages_for_image_buffers(argv);  // as the livernode program does
  fs::path data = LIVERNODE_DEFAULT_SHARED_DATA;
  std::vector<fs::path> phantoms;
  std::vector<fs::path> timing;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    if (a == "--phantom") phantoms.push_back(argv[i + 1]);
    if (a == "--timing") timing.push_back(argv[i + 1]);
  }
  for (const std::string c : {"hcc-tace-0697", "hcc-tace-1720"}) {
    const fs::path dir = data / "real" / c;
    if (!fs::exists(dir)) {
      std::printf("%s: absent, skipped\n", c.c_str());
      continue;
    }
    // The real cases' series are named by their phase: AP (arterial) and EQP (equilibrium).
    const PhaseTruth real_phase = [](const dicom::SeriesInfo& s) {
      if (s.description.find("EQP") != std::string::npos) return std::string("delayed");
      if (s.description.find("AP") != std::string::npos) return std::string("arterial");
      return std::string("?");
    };
    run_case(c, dir / "ct", real_phase,
             [&](const processing::Geometry& g) { return real_truth(dir / "truth", g); });
  }
  for (const auto& p : phantoms) {
    run_case("phantom " + p.string(), p / "dicom", phantom_phases(p),
             [&](const processing::Geometry& g) { return phantom_truth(p, g); });
  }
  for (const auto& p : timing) {
    run_case("timing " + p.string(), p / "dicom", phantom_phases(p),
             [&](const processing::Geometry& g) { return phantom_truth(p, g); });
  }
  return 0;
}
