#pragma once
// Writes the slices of one axial CT series as DICOM Part 10 files (CT Image Storage, explicit VR
// little endian) with DCMTK. Everything except the pixel data and per-slice position comes
// from the study and series descriptions given at construction.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dicom_slice.h"
#include "livernode/processing/image.h"

namespace livernode::phantom {

struct CtSeriesInfo {
  std::string series_uid, description, protocol_name;
  int series_number = 1;
  std::string acquisition_time;                    // TM; also series and content time
  std::optional<std::string> contrast_start_time;  // set => ContrastBolusAgent/Route/StartTime
};

class CtSeriesWriter {
 public:
  // `geometry` must be axial: direction = identity.
  CtSeriesWriter(StudyInfo study, CtSeriesInfo series, const processing::Geometry& geometry);

  // Writes slice k (InstanceNumber k + 1) with stored values = HU (slope 1, intercept 0).
  // Throws std::runtime_error naming the file on failure.
  void write_slice(const std::filesystem::path& file, std::size_t k,
                   const std::string& sop_instance_uid,
                   const std::vector<std::int16_t>& pixels) const;

 private:
  StudyInfo study_;
  CtSeriesInfo series_;
  processing::Geometry geometry_;
};

}  // namespace livernode::phantom
