#pragma once
// Decodes all frames of one file into stored values (before rescale), one float per pixel.
#include <filesystem>
#include <vector>

namespace livernode::dicom::detail {

struct DecodedFrames {
  unsigned rows = 0;
  unsigned columns = 0;
  unsigned frames = 0;
  std::vector<float> values;  // frame after frame, row after row
};

// DCMTK decodes every transfer syntax it has a codec for; JPEG 2000 goes through GDCM.
// Throws DicomError naming the file when the pixels cannot be decoded.
DecodedFrames decode_frames(const std::filesystem::path& file);

}  // namespace livernode::dicom::detail
