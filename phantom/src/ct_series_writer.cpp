#include "ct_series_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <stdexcept>

namespace livernode::phantom {

CtSeriesWriter::CtSeriesWriter(StudyInfo study, CtSeriesInfo series,
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

  SliceIdentity id;
  id.sop_class_uid = UID_CTImageStorage;
  id.modality = "CT";
  id.image_type = "ORIGINAL\\PRIMARY\\AXIAL";
  id.sop_instance_uid = sop_instance_uid;
  id.series_uid = series_.series_uid;
  id.description = series_.description;
  id.protocol_name = series_.protocol_name;
  id.series_number = series_.series_number;
  id.instance_number = static_cast<int>(k + 1);
  id.series_time = id.acquisition_time = id.content_time = series_.acquisition_time;
  id.slice = k;
  put_common_slice_tags(w, study_, id, g);

  // Contrast/Bolus
  if (series_.contrast_start_time) {
    w.str(DCM_ContrastBolusAgent, "Iohexol 350");
    w.str(DCM_ContrastBolusRoute, "IV");
    w.str(DCM_ContrastBolusStartTime, *series_.contrast_start_time);
  }
  // CT acquisition
  w.str(DCM_KVP, "120");
  w.str(DCM_ReconstructionDiameter, decimal_string(g.spacing[0] * static_cast<double>(g.size[0])));
  w.str(DCM_ConvolutionKernel, "STANDARD");
  // CT image pixel: signed HU
  w.u16(DCM_BitsStored, 16);
  w.u16(DCM_HighBit, 15);
  w.u16(DCM_PixelRepresentation, 1);
  w.str(DCM_WindowCenter, "40");
  w.str(DCM_WindowWidth, "400");
  w.str(DCM_RescaleIntercept, "0");
  w.str(DCM_RescaleSlope, "1");
  w.str(DCM_RescaleType, "HU");
  w.pixels(pixels);
  save_slice(format, file);
}

}  // namespace livernode::phantom
