#pragma once
// The dicom room's error type: a human sentence saying what went wrong, with which file or UID,
// and a category the caller can map to exit codes or DIMSE statuses.
#include <stdexcept>
#include <string>

namespace livernode::dicom {

enum class ErrorKind {
  kNotDicom,          // the bytes are not a DICOM file (or are truncated before the dataset)
  kUnsupported,       // a valid object we do not handle (SOP class, photometric, transfer syntax)
  kMissingAttribute,  // a required attribute is absent or malformed
  kInconsistent,      // the series cannot form one volume (no slices, mixed geometry)
  kDecode,            // pixel data could not be decoded
  kIo,                // the file system refused a read or a write
};

const char* error_kind_name(ErrorKind kind);

class DicomError : public std::runtime_error {
 public:
  DicomError(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace livernode::dicom
