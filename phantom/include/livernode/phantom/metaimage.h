#pragma once
// Minimal MetaImage (.mha, header + raw data in one file) reader and writer for uint8 label
// maps, written by hand so that tests do not need ITK. Only uncompressed little-endian
// MET_UCHAR 3-D images with ElementDataFile = LOCAL are supported.
//
// TransformMatrix follows ITK's MetaImageIO: the direction cosines of axis i, j, k one after the
// other (i.e. the columns of Geometry::direction); Offset is the centre of voxel (0,0,0) in LPS.
#include <filesystem>

#include "livernode/processing/image.h"

namespace livernode::phantom {

// Throws std::runtime_error naming the file on any I/O or format problem.
void write_label_map_mha(const processing::LabelMap& labels, const std::filesystem::path& path);
processing::LabelMap read_label_map_mha(const std::filesystem::path& path);

}  // namespace livernode::phantom
