#pragma once
// What every slice file of the phantom holds whatever its modality: patient, study, series,
// equipment, frame of reference, image plane and the DCMTK calls that set and save them. The CT
// and MR series writers add their modality's modules on top.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::phantom {

struct StudyInfo {
  std::string patient_name, patient_id, patient_birth_date, patient_sex;
  std::optional<double> patient_size_m, patient_weight_kg;
  std::string study_date, study_time;  // DA, TM
  std::string study_uid, frame_of_reference_uid, accession_number, study_id, study_description;
};

// The attributes of one slice that are not fixed by the study and the geometry.
struct SliceIdentity {
  const char* sop_class_uid = nullptr;
  const char* modality = nullptr;
  std::string image_type;  // e.g. "ORIGINAL\\PRIMARY\\AXIAL"
  std::string sop_instance_uid, series_uid, description, protocol_name;
  int series_number = 1;
  int instance_number = 1;
  std::string series_time, acquisition_time, content_time;  // TM
  std::size_t slice = 0;                                    // index k along the grid's z axis
};

// Sets attributes of a dataset or of a sequence item in it; throws std::runtime_error naming the
// file when DCMTK refuses.
class TagWriter {
 public:
  TagWriter(DcmItem& item, const std::filesystem::path& file) : ds_(item), file_(file) {}

  void str(const DcmTagKey& tag, const std::string& value);
  void u16(const DcmTagKey& tag, Uint16 value);
  void f64(const DcmTagKey& tag, double value);
  // An attribute tag as the value of an AT element.
  void tag(const DcmTagKey& tag, const DcmTagKey& value);
  // A sequence with no item (type 2 sequences that have nothing to say).
  void empty_sequence(const DcmTagKey& tag);
  // Appends an item to the sequence `tag` (created when absent) and returns a writer for it.
  TagWriter item(const DcmTagKey& tag);
  // 16-bit samples as OW; the bit pattern is what PixelRepresentation says.
  void pixels(const std::vector<std::int16_t>& data);
  void pixels(const std::vector<std::uint16_t>& data);

 private:
  void check(const OFCondition& c, const DcmTagKey& tag);
  DcmItem& ds_;
  const std::filesystem::path& file_;
};

// Decimal string (DS) of at most 16 characters.
std::string decimal_string(double value);
// Values joined by '\' as decimal strings.
std::string join_ds(std::initializer_list<double> values);

// What a single-frame and a multi-frame image share: SOP Common, Patient, General Study, General
// Series, General Equipment, Frame of Reference, the instance number and the matrix part of Image
// Pixel (16 bits allocated, MONOCHROME2) of the grid `g`.
void put_identity_tags(TagWriter& w, const StudyInfo& study, const SliceIdentity& id,
                       const processing::Geometry& g);

// put_identity_tags and, for a single-frame image, ImageType, the acquisition and content date
// and time, Image Plane and the pixel spacing of slice `id.slice` of the axial grid `g`.
void put_common_slice_tags(TagWriter& w, const StudyInfo& study, const SliceIdentity& id,
                           const processing::Geometry& g);

// Saves as a DICOM Part 10 file in explicit VR little endian.
void save_slice(DcmFileFormat& format, const std::filesystem::path& file);

}  // namespace livernode::phantom
