#include "ct_series_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace livernode::phantom {

namespace {

class TagWriter {
 public:
  TagWriter(DcmDataset& ds, const std::filesystem::path& file) : ds_(ds), file_(file) {}

  void str(const DcmTagKey& tag, const std::string& value) {
    check(ds_.putAndInsertString(tag, value.c_str()), tag);
  }
  void u16(const DcmTagKey& tag, Uint16 value) { check(ds_.putAndInsertUint16(tag, value), tag); }
  void pixels(const std::vector<std::int16_t>& data) {
    // Signed 16-bit samples stored as OW; the bit pattern is what PixelRepresentation 1 means.
    check(ds_.putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(data.data()),
                                      static_cast<unsigned long>(data.size())),
          DCM_PixelData);
  }

 private:
  void check(const OFCondition& c, const DcmTagKey& tag) {
    if (c.bad()) {
      throw std::runtime_error("DICOM " + file_.string() + ": cannot set " +
                               tag.toString().c_str() + ": " + c.text());
    }
  }
  DcmDataset& ds_;
  const std::filesystem::path& file_;
};

std::string join_ds(std::initializer_list<double> values) {
  std::string out;
  for (double v : values) {
    if (!out.empty()) out += '\\';
    out += decimal_string(v);
  }
  return out;
}

}  // namespace

std::string decimal_string(double value) {
  if (std::abs(value) < 1e-9) value = 0.0;  // no "-0"
  for (int precision = 12; precision > 0; --precision) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::string(buf).size() <= 16) return buf;
  }
  throw std::runtime_error("cannot format " + std::to_string(value) + " as a DICOM DS");
}

CtSeriesWriter::CtSeriesWriter(CtStudyInfo study, CtSeriesInfo series,
                               const processing::Geometry& geometry)
    : study_(std::move(study)), series_(std::move(series)), geometry_(geometry) {}

void CtSeriesWriter::write_slice(const std::filesystem::path& file, std::size_t k,
                                 const std::string& sop_instance_uid,
                                 const std::vector<std::int16_t>& pixels) const {
  const processing::Geometry& g = geometry_;
  if (pixels.size() != g.size[0] * g.size[1]) {
    throw std::runtime_error("DICOM " + file.string() +
                             ": pixel count does not match the geometry");
  }
  DcmFileFormat format;
  DcmDataset& ds = *format.getDataset();
  TagWriter w(ds, file);

  // SOP Common, General Image, CT Image
  w.str(DCM_SpecificCharacterSet, "ISO_IR 100");
  w.str(DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL");
  w.str(DCM_SOPClassUID, UID_CTImageStorage);
  w.str(DCM_SOPInstanceUID, sop_instance_uid);
  w.str(DCM_StudyDate, study_.study_date);
  w.str(DCM_SeriesDate, study_.study_date);
  w.str(DCM_AcquisitionDate, study_.study_date);
  w.str(DCM_ContentDate, study_.study_date);
  w.str(DCM_StudyTime, study_.study_time);
  w.str(DCM_SeriesTime, series_.acquisition_time);
  w.str(DCM_AcquisitionTime, series_.acquisition_time);
  w.str(DCM_ContentTime, series_.acquisition_time);
  w.str(DCM_AccessionNumber, study_.accession_number);
  w.str(DCM_Modality, "CT");
  w.str(DCM_Manufacturer, "livernode");
  w.str(DCM_ReferringPhysicianName, "");
  w.str(DCM_StudyDescription, study_.study_description);
  w.str(DCM_SeriesDescription, series_.description);
  w.str(DCM_ManufacturerModelName, "synthetic phantom");
  // Patient
  w.str(DCM_PatientName, study_.patient_name);
  w.str(DCM_PatientID, study_.patient_id);
  w.str(DCM_PatientBirthDate, study_.patient_birth_date);
  w.str(DCM_PatientSex, study_.patient_sex);
  if (study_.patient_size_m) w.str(DCM_PatientSize, decimal_string(*study_.patient_size_m));
  if (study_.patient_weight_kg) w.str(DCM_PatientWeight, decimal_string(*study_.patient_weight_kg));
  // Contrast/Bolus
  if (series_.contrast_start_time) {
    w.str(DCM_ContrastBolusAgent, "Iohexol 350");
    w.str(DCM_ContrastBolusRoute, "IV");
    w.str(DCM_ContrastBolusStartTime, *series_.contrast_start_time);
  }
  // CT acquisition
  w.str(DCM_BodyPartExamined, "ABDOMEN");
  w.str(DCM_SliceThickness, decimal_string(g.spacing[2]));
  w.str(DCM_KVP, "120");
  w.str(DCM_SpacingBetweenSlices, decimal_string(g.spacing[2]));
  w.str(DCM_ProtocolName, series_.protocol_name);
  w.str(DCM_ReconstructionDiameter, decimal_string(g.spacing[0] * static_cast<double>(g.size[0])));
  w.str(DCM_ConvolutionKernel, "STANDARD");
  w.str(DCM_PatientPosition, "HFS");
  // Study / series / instance identification
  w.str(DCM_StudyInstanceUID, study_.study_uid);
  w.str(DCM_SeriesInstanceUID, series_.series_uid);
  w.str(DCM_StudyID, study_.study_id);
  w.str(DCM_SeriesNumber, std::to_string(series_.series_number));
  w.str(DCM_AcquisitionNumber, "1");
  w.str(DCM_InstanceNumber, std::to_string(k + 1));
  // Image plane (axial: rows along +x, columns along +y)
  const processing::Vec3 position = g.index_to_point(0.0, 0.0, static_cast<double>(k));
  w.str(DCM_ImagePositionPatient, join_ds({position[0], position[1], position[2]}));
  const processing::Vec3 row = g.axis(0), col = g.axis(1);
  w.str(DCM_ImageOrientationPatient, join_ds({row[0], row[1], row[2], col[0], col[1], col[2]}));
  w.str(DCM_FrameOfReferenceUID, study_.frame_of_reference_uid);
  w.str(DCM_PositionReferenceIndicator, "");
  w.str(DCM_SliceLocation, decimal_string(position[2]));
  // Image pixel
  w.u16(DCM_SamplesPerPixel, 1);
  w.str(DCM_PhotometricInterpretation, "MONOCHROME2");
  w.u16(DCM_Rows, static_cast<Uint16>(g.size[1]));
  w.u16(DCM_Columns, static_cast<Uint16>(g.size[0]));
  w.str(DCM_PixelSpacing, join_ds({g.spacing[1], g.spacing[0]}));  // row spacing \ column spacing
  w.u16(DCM_BitsAllocated, 16);
  w.u16(DCM_BitsStored, 16);
  w.u16(DCM_HighBit, 15);
  w.u16(DCM_PixelRepresentation, 1);
  w.str(DCM_WindowCenter, "40");
  w.str(DCM_WindowWidth, "400");
  w.str(DCM_RescaleIntercept, "0");
  w.str(DCM_RescaleSlope, "1");
  w.str(DCM_RescaleType, "HU");
  w.pixels(pixels);

  const OFCondition saved = format.saveFile(file.c_str(), EXS_LittleEndianExplicit);
  if (saved.bad())
    throw std::runtime_error("DICOM " + file.string() + ": cannot write: " + saved.text());
}

}  // namespace livernode::phantom
