#pragma once
// Reads back one series written by generate_phantom() into a HU volume (MR: signal in arbitrary
// units), for tests that need the pixel values without depending on the product's DICOM loader.
// It only understands what the phantom writes (uncompressed axial slices sharing one
// orientation: one file per slice, or with mr_enhanced one Enhanced MR object per series).
#include <filesystem>
#include <optional>

#include "livernode/processing/image.h"

namespace livernode::phantom {

// Loads every *.dcm file of `series_dir` (with `temporal_position`: only the files of that
// TemporalPositionIdentifier, or the frames of that TemporalPositionIndex), sorts the slices
// along the slice normal and applies the rescale slope/intercept when present. Throws
// std::runtime_error on unreadable or inconsistent files.
processing::Volume read_phantom_series(const std::filesystem::path& series_dir,
                                       std::optional<long> temporal_position = std::nullopt);

}  // namespace livernode::phantom
