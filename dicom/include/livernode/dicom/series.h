#pragma once
// What the scanner learns about a series from the headers alone: identity, the patient facts
// the clinical formulas need, and the slices sorted by their position along the slice normal.
#include <array>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::dicom {

using processing::Vec3;

// One 2-D image of a series: a single-frame file, or one frame of a multi-frame file.
struct SliceRef {
  std::filesystem::path file;
  unsigned frame = 0;  // 0-based frame number inside the file
  std::string sop_instance_uid;
  Vec3 position{};               // ImagePositionPatient (LPS mm)
  double normal_position = 0.0;  // position projected on the slice normal (mm)
  // Rescale to HU / stored value, per frame (Enhanced objects may vary it per frame).
  double rescale_slope = 1.0;
  double rescale_intercept = 0.0;
};

struct PatientFacts {
  std::string name;  // never logged above debug level
  std::string id;    // never logged above debug level
  std::string birth_date;
  std::string sex;
  std::optional<double> size_m;     // PatientSize
  std::optional<double> weight_kg;  // PatientWeight
};

// What an MR series' header says of how it was acquired (empty for CT). Per series, from its
// first file, except the distinct acquisition times (from every file) and the temporal positions
// (of every time point of the series).
struct MrFacts {
  std::string image_type;         // ImageType, values joined by '\\'
  std::string scanning_sequence;  // (0018,0020): SE, IR, GR, EP, RM, ...
  std::string sequence_variant;   // (0018,0021)
  std::string scan_options;       // (0018,0022): FS, SAT1, ...
  std::string acquisition_type;   // (0018,0023): 2D or 3D
  std::optional<double> repetition_time_ms, echo_time_ms, flip_angle_deg;
  std::optional<double> b_value;            // Diffusion b-value (0018,9087), s/mm2
  std::set<std::string> acquisition_times;  // distinct AcquisitionTime values
  // A series of several time points (a dynamic run in one series, told apart by
  // TemporalPositionIdentifier) is split into one SeriesInfo per time point, all with the same
  // series UID: this one's position, and every position the series holds.
  std::optional<long> temporal_position;
  std::set<long> temporal_positions;
};

struct SeriesInfo {
  std::string study_uid;
  std::string series_uid;
  std::string frame_of_reference_uid;
  std::string sop_class_uid;
  std::string modality;
  std::string description;  // SeriesDescription
  std::string series_number;
  std::string body_part;
  std::string manufacturer;
  std::string study_date;
  std::string study_time;
  std::string series_time;
  std::string acquisition_time;
  std::string contrast_agent;  // ContrastBolusAgent (often absent)
  std::string contrast_start_time;
  std::string accession_number;
  std::string study_id;
  PatientFacts patient;

  unsigned rows = 0;
  unsigned columns = 0;
  std::array<double, 2> pixel_spacing{1.0, 1.0};        // row spacing, column spacing (mm)
  std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};  // ImageOrientationPatient
  double slice_thickness = 0.0;
  double slice_spacing = 0.0;    // median distance between sorted slices (mm)
  double gantry_tilt_deg = 0.0;  // measured from the slice positions
  bool multiframe = false;
  MrFacts mr;  // MR only

  std::vector<SliceRef> slices;       // sorted by normal_position, ascending
  std::vector<std::string> warnings;  // geometry findings, one sentence each

  Vec3 row_direction() const { return {orientation[0], orientation[1], orientation[2]}; }
  Vec3 column_direction() const { return {orientation[3], orientation[4], orientation[5]}; }
  Vec3 normal() const;
};

// A file (or a frame group) that was not used, with the one-line reason.
struct Rejected {
  std::filesystem::path file;
  std::string reason;
};

struct ScanResult {
  std::vector<SeriesInfo> series;
  std::vector<Rejected> rejected;
};

}  // namespace livernode::dicom
