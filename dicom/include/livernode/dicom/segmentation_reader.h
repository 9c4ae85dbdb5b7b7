#pragma once
// Reads a DICOM Segmentation (binary or fractional, any tool's) into masks on a target grid.
// Frames are placed by their own plane position (PerFrameFunctionalGroupsSequence /
// PlanePositionSequence / ImagePositionPatient), never by the SOP instance they reference:
// some tools write wrong references.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::dicom {

struct SegmentMask {
  unsigned number = 0;
  std::string label;
  std::string algorithm_type;  // AUTOMATIC, SEMIAUTOMATIC, MANUAL
  std::string category_code;   // SegmentedPropertyCategoryCodeSequence: "scheme:value"
  std::string type_code;       // SegmentedPropertyTypeCodeSequence: "scheme:value"
  processing::LabelMap mask;   // on the target grid, 1 inside
};

struct SegmentationRead {
  std::string series_uid;
  std::string referenced_series_uid;
  std::string frame_of_reference_uid;
  std::vector<SegmentMask> segments;
  std::vector<std::string> warnings;  // frames that fell outside the target grid, etc.
};

// Throws DicomError when the file is not a readable SEG.
SegmentationRead read_segmentation(const std::filesystem::path& file,
                                   const processing::Geometry& target);

}  // namespace livernode::dicom
