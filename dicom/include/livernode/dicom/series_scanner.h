#pragma once
#include <filesystem>
#include <vector>

#include "livernode/dicom/series.h"

namespace livernode::dicom {

// Reads the headers of every file under `root` (recursively) and groups the usable CT/MR images
// into series: by study, series and orientation, localizers and non-image objects dropped, images
// of another orientation or matrix size dropped with a reason, slices sorted along the normal.
// Never throws for bad files: they come back in ScanResult::rejected.
ScanResult scan_directory(const std::filesystem::path& root);
ScanResult scan_files(const std::vector<std::filesystem::path>& files);

}  // namespace livernode::dicom
