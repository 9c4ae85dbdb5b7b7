#pragma once
// The worker path shared by `livernode analyze` and the network node: a folder of DICOM files
// in, result objects and summary.json out.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace livernode::node {

struct StudyAnalysisOutcome {
  bool usable = false;                 // false: no series could be analysed (bad input)
  std::string error;                   // why, when !usable
  std::filesystem::path summary_path;  // OUT/summary.json
  nlohmann::json summary;              // what summary.json holds
  std::vector<std::filesystem::path> objects;  // result objects written
};

// Scans `input`, loads every CT/MR series, runs processing::analyse per study and writes the
// results under `out`. Throws only on internal errors; bad input comes back as !usable.
StudyAnalysisOutcome analyse_folder(const std::filesystem::path& input,
                                    const std::filesystem::path& out);

}  // namespace livernode::node
