#pragma once
// Pieces shared by the SEG, SR and summary writers: UIDs, DCMTK conditions turned into
// DicomError, the source header whose Patient and Study modules every result copies.
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/ofstd/ofcond.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "livernode/dicom/error.h"
#include "livernode/dicom/series.h"
#include "livernode/processing/analysis.h"

namespace livernode::dicom::detail {

// Display colours shared by the SEG (as CIELab) and the summary images: the liver in a warm
// brown, lesions in colours that stand out against it and each other.
struct Rgb {
  double r, g, b;  // 0..1
};
Rgb liver_colour();
Rgb lesion_colour(int lesion_number);

// Why tumour figures cannot be given: the detail of a "lesions" stage that is not done (and no
// lesion reported), else nullopt.
std::optional<std::string> lesions_not_done(const processing::AnalysisResult& result);

// A new globally unique UID under DCMTK's site root.
std::string new_uid();

// Throws DicomError(kind, "<file>: <what> (<DCMTK reason>)") when `c` is bad.
void require(const OFCondition& c, const std::string& what, const std::filesystem::path& file,
             ErrorKind kind = ErrorKind::kInconsistent);

// The header (everything before Pixel Data) of the first source slice that has one, as the
// results copy it: every value made valid for its VR (copied_values.h) and, when the slice has
// no Frame of Reference UID, series.frame_of_reference_uid (if set) in its place.
std::unique_ptr<DcmFileFormat> load_source_header(const SeriesInfo& series);

// The header (up to the pixel data) of the series' first readable slice, or null with the last
// file's reason in `reasons`.
std::unique_ptr<DcmFileFormat> read_first_header(const SeriesInfo& series, std::string& reasons);

// Copies the Patient, Patient Study and General Study module attributes (present ones) from
// `source` into `target`, replacing what `target` holds. Type 2 attributes absent in the source
// are written empty so that the modules stay complete. A source that says its patient identity was
// removed but not how gets De-identification Method "not recorded in the source images".
void copy_patient_and_study(DcmItem& source, DcmItem& target);

// Starts a new derived object in `ds`: SOP class and instance, the source's Patient and Study
// modules, and its own series (modality, UID, number, description, date and time now). Returns
// a setter for further string attributes that throws DicomError naming `file`.
std::function<void(const DcmTagKey&, const std::string&)> start_derived_object(
    DcmItem& ds, DcmItem& source, const std::filesystem::path& file, const char* sop_class_uid,
    const std::string& sop_instance_uid, const std::string& modality, const std::string& series_uid,
    const std::string& series_number, const std::string& series_description);

// Specific Character Set of a result: none when every text value is 7-bit ASCII (readers then
// need no character set support), else the source's, else UTF-8 (ISO_IR 192).
void settle_character_set(DcmItem& source, DcmItem& target);

// Date (YYYYMMDD) and time (HHMMSS) now, local time.
std::string today();
std::string now_time();

// Creates the parent folder of `file` and saves `format` there (explicit VR little endian,
// with a fresh meta header). Throws DicomError(kIo) on failure.
void save(DcmFileFormat& format, const std::filesystem::path& file);

}  // namespace livernode::dicom::detail
