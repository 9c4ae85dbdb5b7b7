// Accuracy and cost of the analysis on every case with ground truth: the real HCC cases in
// ../shared/data/real (truth SEGs placed by frame position) and, when given, phantom folders.
// With --timing DIR it also analyses DIR (e.g. a two-phase 512 x 512 x 200 phantom written by
// `livernode phantom`) for wall time and peak memory.
//
//   livernode_bench_accuracy [--data SHARED_DATA_DIR] [--case REAL_CASE] [--phantom PHANTOM_DIR
//   ...]
//                            [--timing DIR] [--atlas leave-one-out|built-in|none]
//                            [--noise HU] [--mr-phantom MR_PHANTOM_DIR ...]
//
// The liver atlas (livernode/processing/liver_atlas.h) is built from the real cases themselves,
// so by default each real case is measured with an atlas of the other cases (leave-one-out);
// the phantom, which no atlas is built from, with the built-in one.
//
// --mr-phantom DIR: an MR phantom (`livernode phantom --modality mr --out DIR`), analysed as
// `livernode analyze` does (study/), its liver SEG and lesion segments read back and scored
// against the phantom's truth label map of the reference time point. No real liver MR with
// ground truth is available: MR is measured on the phantom only.
//
// With --noise HU every image is analysed with that much Gaussian noise added (SD in HU, a fixed
// seed per series): how the analysis holds on a noisier scanner, dose or reconstruction kernel
// than the cases were acquired with.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "atlas_cases.h"
#include "case_truth.h"
#include "livernode/dicom/segmentation_reader.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/node/cli/huge_pages.h"
#include "livernode/phantom/labels.h"
#include "livernode/phantom/metaimage.h"
#include "livernode/processing/analysis.h"
#include "livernode/study/study_analysis.h"
// The analysis' own registration, to carry truth drawn on another phase onto the series measured.
#include "abdomen_survey.h"
#include "mask_ops.h"
#include "phase_registration.h"

namespace fs = std::filesystem;
using namespace livernode;

namespace {

// Truth on the reference series' grid: the liver, and the lesions numbered 1..n (0 none).
struct Truth {
  processing::LabelMap liver;
  std::string drawn_on_series_uid;  // empty: unknown, or the same series
  processing::LabelMap lesions;
  std::map<int, double> lesion_diameter_mm;  // when known: smaller ones need not be found
  std::map<int, std::string> lesion_type;    // when known, as the phantom names it
};
// The true phase of a series (by its UID and description), or "?" when unknown.
using PhaseTruth = std::function<std::string(const dicom::SeriesInfo&)>;
// Truth on the grid of the series the liver was segmented on.
using TruthSource = std::function<Truth(const processing::Geometry&)>;

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// One run of the analysis: a case by one way (the whole study, or one series alone).
struct Outcome {
  std::string case_name, way;
  bool segmented = false;
  bool phases_right = true;
  std::optional<double> dice, volume_error_percent;
  int found = 0, missed = 0, false_positives = 0;
  bool lesion_truth = false;
  bool truth_on_other_series = false;
  // Against the truth carried onto the measured series by registration (when it was drawn on
  // another one): what breathing between the two breath-holds no longer lowers.
  std::optional<double> aligned_dice;
  double seconds = 0;
};
std::vector<Outcome> outcomes;
// The atlas the analyses of the current case use (nullptr: the built-in one).
const processing::LiverAtlas* current_atlas = nullptr;
// --noise: Gaussian noise added to every image (SD in HU; 0: none).
double added_noise_hu = 0.0;

// Adds added_noise_hu of Gaussian noise to `v` (not to voxels without data), seeded by the
// series so that every run and way sees the same noise.
void add_noise(processing::Volume& v, const std::string& series_uid) {
  if (added_noise_hu <= 0.0) return;
  std::mt19937_64 random(std::hash<std::string>{}(series_uid));
  std::normal_distribution<float> noise(0.0f, static_cast<float>(added_noise_hu));
  for (float& x : v.voxels)
    if (x > -1500.0f) x += noise(random);
}

// Truth drawn on another series of the case, carried onto `target` (the series measured): that
// series' image aligned onto the target's by the analysis' own registration (a translation by
// Mattes mutual information over the truth liver and 10 mm around it; not the B-spline, which
// keeps volumes only roughly: it lost 4-9 % of the truth liver), and the truth resampled through
// the transform. Empty when the truth series is not among `case_series`.
std::optional<Truth> truth_aligned_onto(const processing::Volume& target, const Truth& by_position,
                                        const std::vector<const dicom::SeriesInfo*>& case_series,
                                        const TruthSource& truth_source, std::string* note) {
  const dicom::SeriesInfo* drawn_on = nullptr;
  for (const auto* s : case_series)
    if (s->series_uid == by_position.drawn_on_series_uid) drawn_on = s;
  if (!drawn_on) return std::nullopt;
  auto source = dicom::load_volume(*drawn_on);
  add_noise(source.volume, drawn_on->series_uid);
  const Truth own = truth_source(source.volume.geometry);
  if (own.liver.empty()) return std::nullopt;
  namespace pd = processing::detail;
  const processing::Volume fixed = pd::coarse_smoothed(target, 2.0);
  const processing::Volume moving = pd::coarse_smoothed(source.volume, 2.0);
  const auto region = pd::dilate_mm(pd::resample_nearest(by_position.liver, fixed.geometry), 10.0);
  const auto alignment = pd::align_phase(fixed, moving, region, /*deformable=*/false);
  Truth out = by_position;
  out.liver = alignment.transform.resample(own.liver, target.geometry);
  if (!own.lesions.empty())
    out.lesions = alignment.transform.resample(own.lesions, target.geometry);
  const auto& t = alignment.transform.translation();
  char text[160];
  std::snprintf(text, sizeof text, "shifted by (%.1f, %.1f, %.1f) mm", t[0], t[1], t[2]);
  *note = text;
  return out;
}

void run_case(const std::string& name, const std::string& way,
              const std::vector<const dicom::SeriesInfo*>& series, const PhaseTruth& true_phase,
              const TruthSource& truth_source,
              const std::vector<const dicom::SeriesInfo*>& case_series) {
  Outcome out;
  out.case_name = name;
  out.way = way;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<dicom::LoadedVolume> volumes;
  processing::StudyInput study;
  for (const auto* s : series) {
    volumes.push_back(dicom::load_volume(*s));
    add_noise(volumes.back().volume, s->series_uid);
  }
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    // The same header evidence `livernode analyze` and the node give the analysis.
    study.series.push_back(
        {series[i]->series_uid, &volumes[i].volume, study::series_hints(*series[i])});
  }
  processing::AnalysisOptions options;
  options.liver_atlas = current_atlas;
  const auto result = processing::analyse(study, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.seconds = seconds;
  std::printf("%s, %s\n", name.c_str(), way.c_str());
  for (std::size_t i = 0; i < result.series.size(); ++i) {
    const auto& p = result.series[i].phase;
    const std::string truth = true_phase ? true_phase(*series[i]) : "?";
    if (truth != "?" && truth != processing::phase_name(p.phase)) out.phases_right = false;
    std::printf(
        "  series %-28s phase %-14s (true %-13s) conf %.2f  aorta %4.0f  portal vein %4.0f  liver "
        "%4.0f HU\n",
        series[i]->description.substr(0, 28).c_str(), processing::phase_name(p.phase),
        truth.c_str(), p.confidence, p.aorta_hu.value_or(NAN), p.portal_vein_hu.value_or(NAN),
        p.liver_hu.value_or(NAN));
  }
  for (const auto& st : result.stages)
    if (st.stage == "body_region") std::printf("  body region: %s\n", st.detail.c_str());
  if (!result.liver || result.reference_series < 0) {
    for (const auto& st : result.stages)
      if (!st.done) std::printf("  %s: %s\n", st.stage.c_str(), st.detail.c_str());
    std::printf("  liver: not segmented\n  wall %.1f s, peak memory %.0f MB\n", seconds,
                peak_rss_mb());
    outcomes.push_back(out);
    return;
  }
  out.segmented = true;
  for (const auto& w : result.warnings) std::printf("  warning: %s\n", w.c_str());
  const auto& reference = *series[result.reference_series];
  const auto& geometry = volumes[result.reference_series].volume.geometry;
  Truth truth = truth_source ? truth_source(geometry) : Truth{};
  // Truth drawn on another series is also carried onto this one by registration; the lesions
  // are scored against that.
  std::optional<Truth> aligned;
  std::string alignment_note;
  if (!truth.liver.empty() && !truth.drawn_on_series_uid.empty() &&
      truth.drawn_on_series_uid != reference.series_uid)
    aligned = truth_aligned_onto(volumes[result.reference_series].volume, truth, case_series,
                                 truth_source, &alignment_note);
  const double voxel_ml = geometry.voxel_volume_ml();
  if (const char* dump = std::getenv("LIVERNODE_BENCH_DUMP")) {
    // For a look at the result: the reference volume (HU -100..410 as 0..255, and -1000..1040), the
    // liver, the lesions and the truth (liver and lesions), as MetaImage label maps.
    std::string stem = name + "_" + way;
    for (char& c : stem)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
    const fs::path base = fs::path(dump) / stem;
    const auto& v = volumes[result.reference_series].volume;
    // HU from `low`, `step` HU a grey level (0..255).
    auto write_grey = [&](float low, float step, const std::string& suffix) {
      processing::LabelMap grey(v.geometry, 0);
      for (std::size_t p = 0; p < v.voxels.size(); ++p)
        grey.voxels[p] =
            static_cast<std::uint8_t>(std::clamp((v.voxels[p] - low) / step, 0.0f, 255.0f));
      phantom::write_label_map_mha(grey, base.string() + suffix);
    };
    write_grey(-100.0f, 2.0f, "_ct.mha");
    write_grey(-1000.0f, 8.0f, "_wide.mha");  // where lung, bowel gas and fat differ
    phantom::write_label_map_mha(result.liver_mask, base.string() + "_liver.mha");
    phantom::write_label_map_mha(result.lesion_labels, base.string() + "_lesions.mha");
    if (!truth.liver.empty())
      phantom::write_label_map_mha(truth.liver, base.string() + "_truth.mha");
    if (!truth.lesions.empty())
      phantom::write_label_map_mha(truth.lesions, base.string() + "_truth_lesions.mha");
    if (aligned) phantom::write_label_map_mha(aligned->liver, base.string() + "_truth_aligned.mha");
  }
  if (!truth.liver.empty()) {
    const auto liver = bench::overlap(result.liver_mask, truth.liver);
    out.dice = liver.dice();
    out.truth_on_other_series =
        !truth.drawn_on_series_uid.empty() && truth.drawn_on_series_uid != reference.series_uid;
    out.volume_error_percent = liver.volume_error_percent();
    std::printf("  liver (on %s): Dice %.4f  volume %.0f mL vs truth %.0f mL (%+.1f %%)%s\n",
                reference.description.empty() ? reference.series_uid.c_str()
                                              : reference.description.c_str(),
                *out.dice, liver.found_voxels * voxel_ml, liver.truth_voxels * voxel_ml,
                *out.volume_error_percent,
                out.truth_on_other_series ? " (truth drawn on another series)" : "");
    if (aligned) {
      const auto a = bench::overlap(result.liver_mask, aligned->liver);
      out.aligned_dice = a.dice();
      std::printf(
          "    against the truth aligned onto this series (%s): Dice %.4f, volume %+.1f %%\n",
          alignment_note.c_str(), *out.aligned_dice, a.volume_error_percent());
      truth.lesions = aligned->lesions;
    }
  } else {
    std::printf("  liver volume %.0f mL (no truth)\n", result.liver->volume_ml);
  }
  if (!truth.lesions.empty()) {
    out.lesion_truth = true;
    // A truth lesion is found when a detected lesion overlaps it; a detected lesion that
    // overlaps no truth lesion is a false positive.
    const auto score = bench::score_lesions(result.lesion_labels, truth.lesions);
    int ignored = 0;
    double truth_total = 0;
    for (const auto& t : score.truth) {
      truth_total += t.volume_ml;
      const auto diameter = truth.lesion_diameter_mm.find(t.number);
      // Required: the phantom's lesions of 10 mm or more; every real tumour of 1 mL or more.
      const bool required = diameter == truth.lesion_diameter_mm.end() ? t.volume_ml >= 1.0
                                                                       : diameter->second >= 10.0;
      if (t.found) {
        ++out.found;
        std::printf("    truth lesion %d: %.2f mL, found as %.2f mL (%+.0f %%), Dice %.2f",
                    t.number, t.volume_ml, t.found_ml,
                    100.0 * (t.found_ml - t.volume_ml) / t.volume_ml, t.dice);
        const auto type = truth.lesion_type.find(t.number);
        if (type != truth.lesion_type.end()) {
          // The type of the detected lesion that covers most of it.
          std::printf(", type %s (true %s)",
                      processing::lesion_type_name(result.lesions[t.most_found - 1].type),
                      type->second.c_str());
        }
        std::printf("\n");
      } else if (required) {
        ++out.missed;
        std::printf("    truth lesion %d: %.2f mL, missed\n", t.number, t.volume_ml);
      } else {
        ++ignored;
        std::printf("    truth lesion %d: %.2f mL, missed (not required)\n", t.number, t.volume_ml);
      }
    }
    for (int number : score.false_numbers) {
      const auto& l = result.lesions[number - 1];
      std::printf("    false positive: %.2f mL, %.0f x %.0f mm, %s, at (%.0f, %.0f, %.0f)\n",
                  l.volume_ml, l.longest_diameter_mm, l.short_axis_mm,
                  processing::lesion_type_name(l.type), l.centroid_lps[0], l.centroid_lps[1],
                  l.centroid_lps[2]);
    }
    out.false_positives = static_cast<int>(score.false_numbers.size());
    std::printf(
        "  lesions: %d found, %d missed, %d false positive(s)%s; tumour volume %.1f mL "
        "detected vs %.1f mL truth\n",
        out.found, out.missed, out.false_positives,
        ignored ? " (smaller truth lesions not required)" : "",
        result.volumetry ? result.volumetry->tumour_ml : 0.0, truth_total);
  }
  std::printf("  wall %.1f s, peak memory %.0f MB\n", seconds, peak_rss_mb());
  outcomes.push_back(out);
}

// Every way of a case: the whole study, then each series alone (as a PACS that sends one
// series, or a study whose other phases never arrive, would have it analysed).
void run_every_way(const std::string& name, const fs::path& ct_dir, const PhaseTruth& true_phase,
                   const TruthSource& truth_source) {
  const auto scan = dicom::scan_directory(ct_dir);
  std::vector<const dicom::SeriesInfo*> all;
  for (const auto& s : scan.series) all.push_back(&s);
  run_case(name, "whole study", all, true_phase, truth_source, all);
  if (all.size() < 2) return;
  for (const auto* s : all) {
    run_case(name, "series " + (s->description.empty() ? s->series_uid : s->description) + " alone",
             {s}, true_phase, truth_source, all);
  }
}

// The mean and the minimum over every case and way, and the count of targets missed.
void print_totals() {
  if (outcomes.empty()) return;
  std::printf("\n%-22s %-34s %-7s %-8s %-8s %-9s %-16s %s\n", "case", "way", "phases", "Dice",
              "aligned", "volume", "lesions f/m/fp", "wall");
  // Each run's Dice against the truth on the series measured: where the truth was drawn on it,
  // or carried onto it by registration.
  double dice_sum = 0, dice_min = 1, worst_volume = 0, measured_sum = 0, measured_min = 1;
  int with_truth = 0, not_segmented = 0, wrong_phases = 0;
  for (const auto& o : outcomes) {
    char dice[16] = "-", aligned[16] = "-", volume[16] = "-", lesions[24] = "-";
    if (o.dice)
      std::snprintf(dice, sizeof dice, "%.4f%s", *o.dice, o.truth_on_other_series ? "*" : "");
    if (o.aligned_dice) std::snprintf(aligned, sizeof aligned, "%.4f", *o.aligned_dice);
    if (o.volume_error_percent)
      std::snprintf(volume, sizeof volume, "%+.1f %%", *o.volume_error_percent);
    if (o.lesion_truth)
      std::snprintf(lesions, sizeof lesions, "%d/%d/%d", o.found, o.missed, o.false_positives);
    std::printf("%-22s %-34s %-7s %-8s %-8s %-9s %-16s %.1f s\n", o.case_name.substr(0, 22).c_str(),
                o.way.substr(0, 34).c_str(), o.phases_right ? "right" : "WRONG",
                o.segmented ? dice : "none", aligned, volume, lesions, o.seconds);
    wrong_phases += !o.phases_right;
    not_segmented += !o.segmented;
    if (!o.dice) continue;
    ++with_truth;
    dice_sum += *o.dice;
    dice_min = std::min(dice_min, *o.dice);
    const double measured = o.aligned_dice.value_or(*o.dice);
    measured_sum += measured;
    measured_min = std::min(measured_min, measured);
    worst_volume = std::max(worst_volume, std::abs(*o.volume_error_percent));
  }
  if (with_truth) {
    std::printf(
        "liver Dice over %d runs with truth: mean %.4f, minimum %.4f by position; mean %.4f, "
        "minimum %.4f with the truth on (or aligned onto) the series measured; largest volume "
        "error %.1f %%; %d run(s) with a wrong phase, %d without a liver\n",
        with_truth, dice_sum / with_truth, dice_min, measured_sum / with_truth, measured_min,
        worst_volume, wrong_phases, not_segmented);
    std::printf(
        "* truth drawn on another series of the study: breathing between the two lowers "
        "the Dice by position whatever the segmentation; \"aligned\" is the Dice against that "
        "truth carried onto the series measured by the analysis' registration (lesions are "
        "scored against it too)\n");
  }
}

Truth real_truth(const bench::CaseTruth& manual) {
  Truth t;
  t.liver = manual.liver;
  t.lesions = manual.lesions;
  t.drawn_on_series_uid = manual.drawn_on_series_uid;
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

// An MR phantom, as `livernode analyze` analyses it: the phase of every T1 dynamic time point,
// the liver SEG and its lesion segments against the truth label map of the reference time point.
void run_mr_phantom(const fs::path& dir) {
  Outcome out;
  out.case_name = "MR phantom " + dir.filename().string();
  out.way = "whole study";
  const auto manifest = phantom_manifest(dir);
  const fs::path work =
      fs::temp_directory_path() / ("livernode-bench-mr-" + std::to_string(::getpid()));
  const auto t0 = std::chrono::steady_clock::now();
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);  // the analysis' event lines would bury the figures
  const auto outcome = study::analyse_folder(dir / "dicom", work);
  spdlog::set_level(level);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s, %s\n", out.case_name.c_str(), out.way.c_str());
  const auto& analyses = outcome.summary.value("analyses", nlohmann::json::array());
  if (!outcome.usable || analyses.empty() || !manifest.is_object()) {
    std::printf("  not analysed: %s\n", outcome.error.c_str());
    outcomes.push_back(out);
    fs::remove_all(work);
    return;
  }
  const auto& analysis = analyses[0];
  // The true phase of each time point, by series and temporal position.
  std::map<std::pair<std::string, long>, std::string> truth_phase;
  std::string reference_label_map;
  const std::string reference_uid = analysis.value("mr_dynamic", nlohmann::json::object())
                                        .value("reference_series_instance_uid", "");
  const std::string reference_phase =
      analysis.value("mr_dynamic", nlohmann::json::object()).value("reference_phase", "");
  for (const auto& s : manifest.value("series", nlohmann::json::array())) {
    if (s.value("role", "") != "t1_dynamic") continue;
    const std::string image = s.value("image", "");
    const std::string phase = image == "pre" ? "pre_contrast" : image;
    const long position =
        s["temporal_position"].is_number() ? s["temporal_position"].get<long>() : 0;
    truth_phase[{s.value("series_uid", ""), position}] = phase;
    if (s.value("series_uid", "") == reference_uid && phase == reference_phase)
      reference_label_map = s.value("label_map", "");
  }
  for (const auto& tp : analysis["mr_dynamic"].value("time_points", nlohmann::json::array())) {
    const long position = tp.contains("temporal_position") && tp["temporal_position"].is_number()
                              ? tp["temporal_position"].get<long>()
                              : 0;
    const auto it = truth_phase.find({tp.value("series_instance_uid", ""), position});
    const std::string truth = it == truth_phase.end() ? "?" : it->second;
    const std::string detected = tp.value("detected", "?");
    if (detected != truth) out.phases_right = false;
    std::printf("  time point %-14s (true %-13s) confidence %.2f\n", detected.c_str(),
                truth.c_str(), tp.value("confidence", 0.0));
  }
  const auto& objects = analysis.value("objects", nlohmann::json::array());
  if (reference_label_map.empty() || objects.empty() || objects[0].value("kind", "") != "seg") {
    std::printf("  liver: not segmented\n  wall %.1f s\n", out.seconds);
    outcomes.push_back(out);
    fs::remove_all(work);
    return;
  }
  out.segmented = true;
  const auto labels = phantom::read_label_map_mha(dir / reference_label_map);
  const auto seg = dicom::read_segmentation(work / objects[0].value("path", ""), labels.geometry);
  // The liver with its lesions, and the lesions (segments after the first) numbered 1..n.
  processing::LabelMap found(labels.geometry, 0), found_lesions(labels.geometry, 0);
  for (std::size_t k = 0; k < seg.segments.size(); ++k)
    for (std::size_t p = 0; p < found.voxels.size(); ++p) {
      if (!seg.segments[k].mask.voxels[p]) continue;
      found.voxels[p] = 1;
      if (k > 0) found_lesions.voxels[p] = static_cast<std::uint8_t>(k);
    }
  processing::LabelMap truth_liver(labels.geometry, 0), truth_lesions(labels.geometry, 0);
  for (std::size_t p = 0; p < labels.voxels.size(); ++p) {
    truth_liver.voxels[p] = phantom::labels::is_liver(labels.voxels[p]);
    if (labels.voxels[p] >= 10)
      truth_lesions.voxels[p] = static_cast<std::uint8_t>(labels.voxels[p] - 9);
  }
  const auto liver = bench::overlap(found, truth_liver);
  out.dice = liver.dice();
  out.volume_error_percent = liver.volume_error_percent();
  const double voxel_ml = labels.geometry.voxel_volume_ml();
  std::printf(
      "  liver (on the %s time point): Dice %.4f  volume %.0f mL vs truth %.0f mL (%+.1f %%)\n",
      reference_phase.c_str(), *out.dice, liver.found_voxels * voxel_ml,
      liver.truth_voxels * voxel_ml, *out.volume_error_percent);
  // Lesions of 10 mm or more must be found (as for the CT phantom).
  std::map<int, double> diameter;
  for (const auto& l : manifest.value("lesions", nlohmann::json::array()))
    if (l.value("label", 0) >= 10)
      diameter[l.value("label", 0) - 9] = l.value("longest_axial_diameter_mm", 0.0);
  const auto score = bench::score_lesions(found_lesions, truth_lesions);
  out.lesion_truth = true;
  for (const auto& t : score.truth) {
    const bool required = diameter.count(t.number) ? diameter[t.number] >= 10.0 : true;
    if (t.found) {
      ++out.found;
      std::printf("    truth lesion %d: %.2f mL, found as %.2f mL (%+.0f %%), Dice %.2f\n",
                  t.number, t.volume_ml, t.found_ml,
                  100.0 * (t.found_ml - t.volume_ml) / t.volume_ml, t.dice);
    } else {
      out.missed += required;
      std::printf("    truth lesion %d: %.2f mL, missed%s\n", t.number, t.volume_ml,
                  required ? "" : " (not required)");
    }
  }
  out.false_positives = static_cast<int>(score.false_numbers.size());
  std::printf("  lesions: %d found, %d missed, %d false positive(s)\n  wall %.1f s\n", out.found,
              out.missed, out.false_positives, out.seconds);
  outcomes.push_back(out);
  fs::remove_all(work);
}

}  // namespace

int main(int argc, char** argv) {
  livernode::node::use_huge_pages_for_image_buffers(argv);  // as the livernode program does
  fs::path data = LIVERNODE_DEFAULT_SHARED_DATA;
  std::vector<fs::path> phantoms;
  std::vector<fs::path> timing;
  std::vector<fs::path> mr_phantoms;
  std::string only_case;  // --case NAME: that real case alone
  std::string atlas_mode = "leave-one-out";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    if (a == "--phantom") phantoms.push_back(argv[i + 1]);
    if (a == "--timing") timing.push_back(argv[i + 1]);
    if (a == "--mr-phantom") mr_phantoms.push_back(argv[i + 1]);
    if (a == "--case") only_case = argv[i + 1];
    if (a == "--atlas") atlas_mode = argv[i + 1];
    if (a == "--noise") added_noise_hu = std::stod(argv[i + 1]);
  }
  if (atlas_mode != "leave-one-out" && atlas_mode != "built-in" && atlas_mode != "none") {
    std::fprintf(stderr, "--atlas must be leave-one-out, built-in or none\n");
    return 2;
  }
  std::vector<bench::NamedAtlasSample> samples;
  if (atlas_mode == "leave-one-out") samples = bench::real_atlas_samples(data);
  const processing::LiverAtlas no_atlas;
  processing::LiverAtlas case_atlas;
  // The atlas for one real case: of every other case, the built-in one, or none.
  auto use_atlas_for = [&](const std::string& name) {
    if (atlas_mode == "none") {
      current_atlas = &no_atlas;
      std::printf("(%s: no atlas)\n", name.c_str());
    } else if (atlas_mode == "built-in") {
      current_atlas = nullptr;
      std::printf("(%s: the built-in atlas)\n", name.c_str());
    } else {
      std::vector<processing::AtlasSample> others;
      std::string names;
      for (const auto& s : samples) {
        if (s.case_name == name) continue;
        others.push_back(s.sample);
        names += (names.empty() ? "" : ", ") + s.case_name;
      }
      case_atlas = processing::build_liver_atlas(others, "manual livers of " + names);
      current_atlas = &case_atlas;
      std::printf("(%s: atlas of the other cases: %s)\n", name.c_str(), names.c_str());
    }
  };
  // The real cases' series are named by their phase: AP (arterial), PP (portal venous) and
  // EQP (equilibrium); the CHAOS series has no description and is portal venous.
  const PhaseTruth real_phase = [](const dicom::SeriesInfo& s) {
    if (s.description.find("EQP") != std::string::npos) return std::string("delayed");
    if (s.description.find("PP") != std::string::npos) return std::string("portal_venous");
    if (s.description.find("AP") != std::string::npos) return std::string("arterial");
    return std::string("?");
  };
  for (const std::string c : {"hcc-tace-0697", "hcc-tace-1720", "hcc-tace-2144"}) {
    const fs::path dir = data / "real" / c;
    if (!only_case.empty() && c != only_case) continue;
    if (!fs::exists(dir)) {
      std::printf("%s: absent, skipped\n", c.c_str());
      continue;
    }
    use_atlas_for(c);
    run_every_way(c, dir / "ct", real_phase, [&](const processing::Geometry& g) {
      return real_truth(bench::seg_truth(dir / "truth", g));
    });
  }
  if (!only_case.empty() && only_case != "chaos-ct") {
  } else if (const fs::path dir = data / "real" / "chaos-ct"; fs::exists(dir)) {
    use_atlas_for("chaos-ct");
    run_every_way(
        "chaos-ct", dir / "ct",
        [](const dicom::SeriesInfo&) { return std::string("portal_venous"); },
        [&](const processing::Geometry& g) {
          return real_truth(bench::png_truth(dir / "ct", dir / "truth" / "liver-png", g));
        });
  } else {
    std::printf("chaos-ct: absent, skipped\n");
  }
  // No atlas is built from the phantom: it meets the built-in one (or none).
  current_atlas = atlas_mode == "none" ? &no_atlas : nullptr;
  for (const auto& p : phantoms) {
    run_every_way("phantom " + p.filename().string(), p / "dicom", phantom_phases(p),
                  [&](const processing::Geometry& g) { return phantom_truth(p, g); });
  }
  for (const auto& p : mr_phantoms) run_mr_phantom(p);
  for (const auto& p : timing) {
    const auto scan = dicom::scan_directory(p / "dicom");
    std::vector<const dicom::SeriesInfo*> all;
    for (const auto& s : scan.series) all.push_back(&s);
    run_case(
        "timing " + p.filename().string(), "whole study", all, phantom_phases(p),
        [&](const processing::Geometry& g) { return phantom_truth(p, g); }, all);
  }
  print_totals();
  return 0;
}
