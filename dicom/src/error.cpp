#include "livernode/dicom/error.h"

namespace livernode::dicom {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotDicom:
      return "not_dicom";
    case ErrorKind::kUnsupported:
      return "unsupported";
    case ErrorKind::kMissingAttribute:
      return "missing_attribute";
    case ErrorKind::kInconsistent:
      return "inconsistent";
    case ErrorKind::kDecode:
      return "decode";
    case ErrorKind::kIo:
      return "io";
  }
  return "unknown";
}

}  // namespace livernode::dicom
