#pragma once
// Writes one MR series as a single Enhanced MR Image Storage object (multi-frame, explicit VR
// little endian), as scanners increasingly send it: the frames of every volume the series holds
// (each time point of a multi-temporal series) in one file, their geometry and timing in the
// Shared and Per-frame Functional Groups, the Multi-frame Dimension module indexing them by
// temporal position and position in the stack, and the MR Pulse Sequence, Enhanced MR Image and
// (after contrast) Enhanced Contrast/Bolus modules instead of the classic MR Image attributes.
// Same pixels as the classic writer (mr_series_writer.h).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dicom_slice.h"
#include "livernode/processing/image.h"
#include "mr_series_writer.h"

namespace livernode::phantom {

class EnhancedMrWriter {
 public:
  // `geometry` must be axial: direction = identity.
  EnhancedMrWriter(StudyInfo study, const processing::Geometry& geometry);

  // Adds slice k of the volume `volume` (the series, or one time point of a multi-temporal
  // series; the first volume added gives the series' attributes) as the next frame and returns
  // its frame number (from 1).
  int add_frame(const MrSeriesInfo& volume, std::size_t k,
                const std::vector<std::uint16_t>& pixels);

  std::size_t frames() const { return frames_.size(); }

  // Writes every frame added as one object (InstanceNumber 1). Throws std::runtime_error naming
  // the file on failure.
  void write(const std::filesystem::path& file, const std::string& sop_instance_uid,
             const std::string& dimension_organization_uid) const;

 private:
  struct Frame {
    std::size_t slice = 0;                 // k along the grid's z axis
    std::optional<int> temporal_position;  // of its volume in a multi-temporal series
    std::string acquisition_time;          // TM of its volume
  };
  StudyInfo study_;
  processing::Geometry geometry_;
  std::optional<MrSeriesInfo> series_;  // the first volume's
  std::vector<Frame> frames_;
  std::vector<std::uint16_t> pixels_;  // every frame, in frame order
};

}  // namespace livernode::phantom
