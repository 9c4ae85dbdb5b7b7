#pragma once
// NIfTI files for exchanging volumes with a site's own segmentation program (the external
// backend): the reference volume goes out in HU, a label map comes back. ITK's NIfTI IO does the
// conversion between NIfTI's RAS and our LPS patient space.
#include <filesystem>
#include <stdexcept>
#include <string>

#include "livernode/processing/image.h"

namespace livernode::processing {

struct NiftiError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Writes float32 HU (gzip-compressed when the name ends in .gz). Throws NiftiError.
void write_nifti(const Volume& volume, const std::filesystem::path& file);

// Reads a label map of any integer (or integral-valued float) type. Throws NiftiError when the
// file cannot be read or holds values outside 0..255.
LabelMap read_nifti_labels(const std::filesystem::path& file);

}  // namespace livernode::processing
