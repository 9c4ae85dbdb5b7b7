#pragma once
// What the scanner learns about a series from the headers alone: identity, the patient facts
// the clinical formulas need, and the slices sorted by their position along the slice normal.
#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::dicom {

using processing::Vec3;

// One 2-D image of a series: a single-frame file, or one frame of a multi-frame file.
struct SliceRef {
  std::filesystem::path file;
  unsigned frame = 0;           // 0-based frame number inside the file
  std::string sop_instance_uid;
  Vec3 position{};              // ImagePositionPatient (LPS mm)
  double normal_position = 0.0; // position projected on the slice normal (mm)
  // Rescale to HU / stored value, per frame (Enhanced objects may vary it per frame).
  double rescale_slope = 1.0;
  double rescale_intercept = 0.0;
};

struct PatientFacts {
  std::string name;        // never logged above debug level
  std::string id;          // never logged above debug level
  std::string birth_date;
  std::string sex;
  std::optional<double> size_m;     // PatientSize
  std::optional<double> weight_kg;  // PatientWeight
};

struct SeriesInfo {
  std::string study_uid;
  std::string series_uid;
  std::string frame_of_reference_uid;
  std::string sop_class_uid;
  std::string modality;
  std::string description;      // SeriesDescription
  std::string series_number;
  std::string body_part;
  std::string manufacturer;
  std::string study_date;
  std::string study_time;
  std::string series_time;
  std::string acquisition_time;
  std::string contrast_agent;   // ContrastBolusAgent (often absent)
  std::string contrast_start_time;
  std::string accession_number;
  std::string study_id;
  PatientFacts patient;

  unsigned rows = 0;
  unsigned columns = 0;
  std::array<double, 2> pixel_spacing{1.0, 1.0};  // row spacing, column spacing (mm)
  std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};  // ImageOrientationPatient
  double slice_thickness = 0.0;
  double slice_spacing = 0.0;   // median distance between sorted slices (mm)
  double gantry_tilt_deg = 0.0; // measured from the slice positions
  bool multiframe = false;

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
