#include "dicom_slice.h"

#include <dcmtk/dcmdata/dcdeftag.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace livernode::phantom {

void TagWriter::str(const DcmTagKey& tag, const std::string& value) {
  check(ds_.putAndInsertString(tag, value.c_str()), tag);
}

void TagWriter::u16(const DcmTagKey& tag, Uint16 value) {
  check(ds_.putAndInsertUint16(tag, value), tag);
}

void TagWriter::f64(const DcmTagKey& tag, double value) {
  check(ds_.putAndInsertFloat64(tag, value), tag);
}

void TagWriter::tag(const DcmTagKey& tag, const DcmTagKey& value) {
  check(ds_.putAndInsertTagKey(tag, value), tag);
}

void TagWriter::empty_sequence(const DcmTagKey& tag) { check(ds_.insertEmptyElement(tag), tag); }

TagWriter TagWriter::item(const DcmTagKey& tag) {
  DcmItem* item = nullptr;
  check(ds_.findOrCreateSequenceItem(tag, item, -2), tag);
  if (item == nullptr) check(EC_IllegalCall, tag);
  return TagWriter(*item, file_);
}

void TagWriter::pixels(const std::vector<std::int16_t>& data) {
  check(ds_.putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(data.data()),
                                    static_cast<unsigned long>(data.size())),
        DCM_PixelData);
}

void TagWriter::pixels(const std::vector<std::uint16_t>& data) {
  check(ds_.putAndInsertUint16Array(DCM_PixelData, data.data(),
                                    static_cast<unsigned long>(data.size())),
        DCM_PixelData);
}

void TagWriter::check(const OFCondition& c, const DcmTagKey& tag) {
  if (c.bad()) {
    throw std::runtime_error("DICOM " + file_.string() + ": cannot set " + tag.toString().c_str() +
                             ": " + c.text());
  }
}

std::string decimal_string(double value) {
  if (std::abs(value) < 1e-9) value = 0.0;  // no "-0"
  for (int precision = 12; precision > 0; --precision) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::string(buf).size() <= 16) return buf;
  }
  throw std::runtime_error("cannot format " + std::to_string(value) + " as a DICOM DS");
}

std::string join_ds(std::initializer_list<double> values) {
  std::string out;
  for (double v : values) {
    if (!out.empty()) out += '\\';
    out += decimal_string(v);
  }
  return out;
}

void put_identity_tags(TagWriter& w, const StudyInfo& study, const SliceIdentity& id,
                       const processing::Geometry& g) {
  // SOP Common, General Image
  w.str(DCM_SpecificCharacterSet, "ISO_IR 100");
  w.str(DCM_SOPClassUID, id.sop_class_uid);
  w.str(DCM_SOPInstanceUID, id.sop_instance_uid);
  w.str(DCM_StudyDate, study.study_date);
  w.str(DCM_SeriesDate, study.study_date);
  w.str(DCM_StudyTime, study.study_time);
  w.str(DCM_SeriesTime, id.series_time);
  w.str(DCM_AccessionNumber, study.accession_number);
  w.str(DCM_Modality, id.modality);
  w.str(DCM_Manufacturer, "livernode");
  w.str(DCM_ReferringPhysicianName, "");
  w.str(DCM_StudyDescription, study.study_description);
  w.str(DCM_SeriesDescription, id.description);
  w.str(DCM_ManufacturerModelName, "synthetic phantom");
  // Patient
  w.str(DCM_PatientName, study.patient_name);
  w.str(DCM_PatientID, study.patient_id);
  w.str(DCM_PatientBirthDate, study.patient_birth_date);
  w.str(DCM_PatientSex, study.patient_sex);
  if (study.patient_size_m) w.str(DCM_PatientSize, decimal_string(*study.patient_size_m));
  if (study.patient_weight_kg) w.str(DCM_PatientWeight, decimal_string(*study.patient_weight_kg));
  // Acquisition basics shared by the modalities
  w.str(DCM_BodyPartExamined, "ABDOMEN");
  w.str(DCM_ProtocolName, id.protocol_name);
  w.str(DCM_PatientPosition, "HFS");
  // Study / series / instance identification
  w.str(DCM_StudyInstanceUID, study.study_uid);
  w.str(DCM_SeriesInstanceUID, id.series_uid);
  w.str(DCM_StudyID, study.study_id);
  w.str(DCM_SeriesNumber, std::to_string(id.series_number));
  w.str(DCM_InstanceNumber, std::to_string(id.instance_number));
  w.str(DCM_FrameOfReferenceUID, study.frame_of_reference_uid);
  w.str(DCM_PositionReferenceIndicator, "");
  // Image pixel
  w.u16(DCM_SamplesPerPixel, 1);
  w.str(DCM_PhotometricInterpretation, "MONOCHROME2");
  w.u16(DCM_Rows, static_cast<Uint16>(g.size[1]));
  w.u16(DCM_Columns, static_cast<Uint16>(g.size[0]));
  w.u16(DCM_BitsAllocated, 16);
}

void put_common_slice_tags(TagWriter& w, const StudyInfo& study, const SliceIdentity& id,
                           const processing::Geometry& g) {
  put_identity_tags(w, study, id, g);
  w.str(DCM_ImageType, id.image_type);
  w.str(DCM_AcquisitionDate, study.study_date);
  w.str(DCM_ContentDate, study.study_date);
  w.str(DCM_AcquisitionTime, id.acquisition_time);
  w.str(DCM_ContentTime, id.content_time);
  w.str(DCM_SliceThickness, decimal_string(g.spacing[2]));
  w.str(DCM_SpacingBetweenSlices, decimal_string(g.spacing[2]));
  w.str(DCM_AcquisitionNumber, "1");
  // Image plane (axial: rows along +x, columns along +y)
  const processing::Vec3 position = g.index_to_point(0.0, 0.0, static_cast<double>(id.slice));
  w.str(DCM_ImagePositionPatient, join_ds({position[0], position[1], position[2]}));
  const processing::Vec3 row = g.axis(0), col = g.axis(1);
  w.str(DCM_ImageOrientationPatient, join_ds({row[0], row[1], row[2], col[0], col[1], col[2]}));
  w.str(DCM_SliceLocation, decimal_string(position[2]));
  w.str(DCM_PixelSpacing, join_ds({g.spacing[1], g.spacing[0]}));  // row spacing \ column spacing
}

void save_slice(DcmFileFormat& format, const std::filesystem::path& file) {
  const OFCondition saved = format.saveFile(file.c_str(), EXS_LittleEndianExplicit);
  if (saved.bad())
    throw std::runtime_error("DICOM " + file.string() + ": cannot write: " + saved.text());
}

}  // namespace livernode::phantom
