#pragma once
// Writes the slices of one axial MR series (or one time point of a multi-temporal series) as
// DICOM Part 10 files (MR Image Storage, explicit VR little endian) with DCMTK, through the same
// common attributes as the CT writer (dicom_slice.h). Stored values are unsigned 12-bit signal in
// arbitrary units: no rescale, no Hounsfield units.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dicom_slice.h"
#include "livernode/processing/image.h"

namespace livernode::phantom {

// 1.5 T: the proton's Larmor frequency in MHz.
inline constexpr double kFieldStrengthT = 1.5;
inline constexpr double kImagingFrequencyMhz = 63.676;

// The sequence and image attributes of an MR series.
struct MrSequenceInfo {
  std::string image_type;  // e.g. "ORIGINAL\\PRIMARY\\M\\ND"
  // Enhanced MR (mr_enhanced_writer.h): ImageType / FrameType of four values (original or
  // derived, PRIMARY, image flavour, derived pixel contrast), AcquisitionContrast, and the
  // duration of the acquisition of one volume.
  std::string enhanced_image_type;   // e.g. "ORIGINAL\\PRIMARY\\T1\\NONE"
  std::string acquisition_contrast;  // T1, T2, DIFFUSION
  double acquisition_duration_s = 0.0;
  std::string scanning_sequence;  // GR, SE, EP
  std::string sequence_variant;   // SP, SK
  std::string scan_options;       // FS or empty
  std::string acquisition_type;   // 2D, 3D
  std::string sequence_name;      // e.g. "*fl3d1"
  double repetition_time_ms = 0.0, echo_time_ms = 0.0, flip_angle_deg = 0.0;
  int echo_train_length = 1;
  std::optional<double> b_value;  // s/mm^2, diffusion images
};

struct MrSeriesInfo {
  std::string series_uid, description, protocol_name;
  int series_number = 1;
  std::string series_time;  // TM, the series' first acquisition
  // TM, this volume's acquisition, also its ContentTime (the time points of a multi-temporal
  // series differ by these; TriggerTime is for cardiac gating and stays absent).
  std::string acquisition_time;
  MrSequenceInfo sequence;
  // Multi-temporal series: this volume's TemporalPositionIdentifier and the series' count.
  std::optional<int> temporal_position;
  int temporal_positions = 1;
  // set => ContrastBolusAgent/Route/StartTime
  std::optional<std::string> contrast_agent, contrast_start_time;
  double window_centre = 500.0, window_width = 1000.0;
};

class MrSeriesWriter {
 public:
  // `geometry` must be axial: direction = identity.
  MrSeriesWriter(StudyInfo study, MrSeriesInfo series, const processing::Geometry& geometry);

  // Writes slice k with InstanceNumber `instance_number`. Throws std::runtime_error naming the
  // file on failure.
  void write_slice(const std::filesystem::path& file, std::size_t k, int instance_number,
                   const std::string& sop_instance_uid,
                   const std::vector<std::uint16_t>& pixels) const;

 private:
  StudyInfo study_;
  MrSeriesInfo series_;
  processing::Geometry geometry_;
};

}  // namespace livernode::phantom
