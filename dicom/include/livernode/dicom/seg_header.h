#pragma once
// The header facts of a DICOM Segmentation that matter before its pixels do: which series and
// images it refers to, who wrote it, and what each segment stands for (its codes and label).
// Used to recognise a SEG sent back from a viewer as a correction, and to place it.
#include <filesystem>
#include <string>
#include <vector>

class DcmItem;

namespace livernode::dicom {

struct SegSegmentHeader {
  unsigned number = 0;
  std::string label;
  std::string category_code;  // "scheme:value"
  std::string type_code;      // "scheme:value"
  std::string algorithm_type;
};

struct SegHeader {
  std::string sop_instance_uid;
  std::string series_uid;
  std::string study_uid;
  std::string frame_of_reference_uid;
  std::string manufacturer;
  std::vector<std::string> referenced_series;     // ReferencedSeriesSequence
  std::vector<std::string> referenced_instances;  // per-frame and shared source image references
  std::vector<SegSegmentHeader> segments;
};

// Throws std::runtime_error when the dataset is not a usable SEG (no segments, no frames).
SegHeader read_seg_header(DcmItem& dataset);

// The FrameOfReferenceUID of a SEG file ("" when unreadable).
std::string seg_frame_of_reference(const std::filesystem::path& file);

// The Referenced Series Sequence of a SEG file (empty when unreadable or not a SEG).
std::vector<std::string> seg_referenced_series(const std::filesystem::path& file);

// The SOPInstanceUID of a DICOM file ("" when unreadable).
std::string sop_instance_uid_of(const std::filesystem::path& file);

}  // namespace livernode::dicom
