#pragma once
// Small readers over DCMTK datasets, shared by the scanner, the loader and the writers.
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <optional>
#include <string>
#include <vector>

namespace livernode::dicom::detail {

// Trimmed string value of an element (all values joined with '\\'), "" when absent.
std::string get_string(DcmItem& item, const DcmTagKey& tag);
std::optional<double> get_double(DcmItem& item, const DcmTagKey& tag, unsigned long pos = 0);
std::optional<long> get_long(DcmItem& item, const DcmTagKey& tag);
// All numeric values of a multi-valued element (e.g. ImagePositionPatient), empty when absent.
std::vector<double> get_doubles(DcmItem& item, const DcmTagKey& tag);

// Item `sequence`[0] inside the per-frame functional group of `frame` if present there, else
// inside the shared functional groups; nullptr when neither has it.
DcmItem* functional_group(DcmItem& dataset, unsigned frame, const DcmTagKey& sequence);
// The same, looked for in the shared functional groups first, then in those of `frame`.
DcmItem* shared_functional_group(DcmItem& dataset, unsigned frame, const DcmTagKey& sequence);

// Registers DCMTK's decoders (JPEG, JPEG-LS, RLE) once and quiets DCMTK's own logger.
void ensure_codecs_registered();

bool is_jpeg2000(const std::string& transfer_syntax_uid);

}  // namespace livernode::dicom::detail
