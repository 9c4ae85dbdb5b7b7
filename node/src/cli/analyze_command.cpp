#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "livernode/config/loader.h"
#include "livernode/config/problem.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/node/cli/arguments.h"
#include "livernode/node/cli/commands.h"
#include "livernode/node/error.h"
#include "livernode/study/study_analysis.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

void print_analysis(const nlohmann::json& summary) {
  for (const auto& a : summary["analyses"]) {
    std::cout << "Examination (frame of reference "
              << a["frame_of_reference_uid"].get<std::string>() << ")\n";
    for (const auto& s : a["series"]) {
      std::cout << "  series " << s["series_instance_uid"].get<std::string>() << "  \""
                << s["description"].get<std::string>() << "\"  " << s["slices"] << " slices";
      if (s.contains("phase")) {
        std::printf("  phase: %s (confidence %.2f)",
                    s["phase"]["detected"].get<std::string>().c_str(),
                    s["phase"]["confidence"].get<double>());
        std::fflush(stdout);
      }
      if (s.contains("error")) std::cout << "  NOT LOADED: " << s["error"].get<std::string>();
      std::cout << "\n";
    }
    if (!a["liver"].is_null()) {
      std::printf("  liver volume: %.0f mL\n", a["liver"]["volume_ml"].get<double>());
      std::fflush(stdout);
    }
    if (a.contains("follow_up") && a["follow_up"].is_object()) {
      for (const auto& st : a["follow_up"]["statements"]) {
        std::cout << "  follow-up: " << st.get<std::string>() << "\n";
      }
    }
    for (const auto& o : a["objects"]) {
      std::cout << "  wrote " << o["kind"].get<std::string>() << ": "
                << o["path"].get<std::string>() << "\n";
    }
    for (const auto& w : a["warnings"]) std::cout << "  warning: " << w.get<std::string>() << "\n";
    for (const auto& st : a["stages"]) {
      std::cout << "  [" << (st["done"].get<bool>() ? "done" : "not done") << "] "
                << st["stage"].get<std::string>() << ": " << st["detail"].get<std::string>()
                << "\n";
    }
  }
}

}  // namespace

int run_analyze(const std::vector<std::string>& raw) {
  try {
    Arguments args(raw, {"out", "prior", "config"}, {"help", "quiet"});
    if (args.flag("help") || args.positional().size() != 1 || !args.value("out")) {
      (args.flag("help") ? std::cout : std::cerr)
          << "Usage: livernode analyze DIR --out OUT [--prior SUMMARY_JSON] [--config FILE] "
             "[--quiet]\n"
             "Scans DIR recursively, analyses every CT/MR examination found and writes\n"
             "OUT/summary.json and, per examination, OUT/<n>/ with the DICOM results.\n"
             "--prior: an earlier summary.json of the same patient; each analysis then compares\n"
             "volumes, remnants and lesions with it.\n"
             "--config: the processing (segmentation backend) and clinical (formulas,\n"
             "thresholds, disclaimer) sections of the node's configuration file are used.\n";
      return args.flag("help") ? kExitOk : kExitUsage;
    }
    if (args.flag("quiet")) spdlog::set_level(spdlog::level::warn);
    study::AnalyseFolderOptions options;
    if (args.value("prior")) options.prior_summary = *args.value("prior");
    if (const auto file = args.value("config")) {
      const config::LoadResult loaded = config::load_config_file(*file);
      if (!loaded.ok()) {
        for (const auto& p : loaded.problems) std::cerr << config::format_problem(p, *file) << "\n";
        std::cerr << "livernode analyze: " << *file << ": " << loaded.problems.size()
                  << " problem(s)\n";
        return kExitBadInput;
      }
      const auto prior = options.prior_summary;
      options = study::analysis_options_from(loaded.config, fs::path(*args.value("out")) / "work");
      options.prior_summary = prior;
    }
    const auto outcome = study::analyse_folder(args.positional()[0], *args.value("out"), options);
    if (!outcome.usable) {
      std::cerr << "livernode analyze: " << outcome.error << "\n";
      if (!outcome.summary_path.empty()) std::cerr << "details: " << outcome.summary_path << "\n";
      return kExitBadInput;
    }
    print_analysis(outcome.summary);
    std::cout << "summary: " << outcome.summary_path.string() << "\n";
    return kExitOk;
  } catch (const NodeError& e) {
    std::cerr << "livernode analyze: " << e.what() << "\n";
    return exit_code_of(e);
  }
}

int run_scan(const std::vector<std::string>& raw) {
  try {
    Arguments args(raw, {}, {"help"});
    if (args.flag("help") || args.positional().size() != 1) {
      (args.flag("help") ? std::cout : std::cerr) << "Usage: livernode scan DIR\n";
      return args.flag("help") ? kExitOk : kExitUsage;
    }
    const auto scan = dicom::scan_directory(args.positional()[0]);
    for (const auto& s : scan.series) {
      std::cout << s.series_uid << "  " << s.modality << "  \"" << s.description << "\"  "
                << s.slices.size() << " slices  " << s.rows << "x" << s.columns << "  spacing "
                << s.pixel_spacing[0] << "x" << s.pixel_spacing[1] << "x" << s.slice_spacing
                << " mm\n";
      for (const auto& w : s.warnings) std::cout << "    warning: " << w << "\n";
    }
    for (const auto& r : scan.rejected)
      std::cout << "rejected " << r.file.string() << ": " << r.reason << "\n";
    return scan.series.empty() ? kExitBadInput : kExitOk;
  } catch (const NodeError& e) {
    std::cerr << "livernode scan: " << e.what() << "\n";
    return exit_code_of(e);
  }
}

}  // namespace livernode::node
