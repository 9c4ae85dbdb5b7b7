#pragma once
// The external segmentation backend: a site's own program (for instance its TotalSegmentator or
// nnU-Net installation) segments the liver instead of the built-in method. The reference volume
// goes to the program as NIfTI; its label map comes back, is checked (same grid, the liver label
// present) and used. A failure, a timeout or a wrong answer leaves the built-in method in charge
// and is reported.
#include <filesystem>
#include <string>
#include <vector>

#include "livernode/processing/analysis.h"

namespace livernode::study {

struct ExternalSegmentationSettings {
  std::vector<std::string> command;  // argv; "{input}" and "{output}" are replaced
  int timeout_s = 600;
  int liver_label = 1;
  std::filesystem::path work_dir;  // a fresh sub-folder per run, removed afterwards
};

processing::LiverBackend external_liver_backend(ExternalSegmentationSettings settings);

}  // namespace livernode::study
