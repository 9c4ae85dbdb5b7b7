#pragma once
#include <string>
#include <vector>

#include "livernode/dicom/series.h"
#include "livernode/processing/image.h"

namespace livernode::dicom {

struct LoadedVolume {
  processing::Volume volume;          // HU for CT, rescaled stored values for MR; LPS geometry
  std::vector<std::string> warnings;  // e.g. slices interpolated, tilt corrected
  // For each k of the volume: index into SeriesInfo::slices of the source slice it came from,
  // or -1 where the slice was interpolated to fill a gap.
  std::vector<int> source_slice;
};

// Decodes every slice of the series (all transfer syntaxes DCMTK decodes, JPEG 2000 through
// GDCM) into one volume on a regular grid. Gantry tilt is corrected by shifting each slice in
// its plane; missing slices are filled by linear interpolation, both reported as warnings.
// Throws DicomError with the file name on failure.
LoadedVolume load_volume(const SeriesInfo& series);

}  // namespace livernode::dicom
