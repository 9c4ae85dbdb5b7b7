#pragma once
// Reads back one series written by generate_phantom() into a HU volume, for tests that need the
// pixel values without depending on the product's DICOM loader. It only understands what the
// phantom writes (uncompressed axial CT slices sharing one orientation).
#include <filesystem>

#include "livernode/processing/image.h"

namespace livernode::phantom {

// Loads every *.dcm file of `series_dir`, sorts the slices along the slice normal and applies the
// rescale slope/intercept. Throws std::runtime_error on unreadable or inconsistent files.
processing::Volume read_phantom_series(const std::filesystem::path& series_dir);

}  // namespace livernode::phantom
