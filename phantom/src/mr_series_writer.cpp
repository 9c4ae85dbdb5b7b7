#include "mr_series_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <stdexcept>

namespace livernode::phantom {

MrSeriesWriter::MrSeriesWriter(StudyInfo study, MrSeriesInfo series,
                               const processing::Geometry& geometry)
    : study_(std::move(study)), series_(std::move(series)), geometry_(geometry) {}

void MrSeriesWriter::write_slice(const std::filesystem::path& file, std::size_t k,
                                 int instance_number, const std::string& sop_instance_uid,
                                 const std::vector<std::uint16_t>& pixels) const {
  const processing::Geometry& g = geometry_;
  if (pixels.size() != g.size[0] * g.size[1]) {
    throw std::runtime_error("DICOM " + file.string() +
                             ": pixel count does not match the geometry");
  }
  DcmFileFormat format;
  DcmDataset& ds = *format.getDataset();
  TagWriter w(ds, file);
  const MrSequenceInfo& q = series_.sequence;

  SliceIdentity id;
  id.sop_class_uid = UID_MRImageStorage;
  id.modality = "MR";
  id.image_type = q.image_type;
  id.sop_instance_uid = sop_instance_uid;
  id.series_uid = series_.series_uid;
  id.description = series_.description;
  id.protocol_name = series_.protocol_name;
  id.series_number = series_.series_number;
  id.instance_number = instance_number;
  id.series_time = series_.series_time;
  id.acquisition_time = id.content_time = series_.acquisition_time;
  id.slice = k;
  put_common_slice_tags(w, study_, id, g);

  // Contrast/Bolus
  if (series_.contrast_agent && series_.contrast_start_time) {
    w.str(DCM_ContrastBolusAgent, *series_.contrast_agent);
    w.str(DCM_ContrastBolusRoute, "IV");
    w.str(DCM_ContrastBolusStartTime, *series_.contrast_start_time);
  }
  // MR image
  w.str(DCM_ScanningSequence, q.scanning_sequence);
  w.str(DCM_SequenceVariant, q.sequence_variant);
  w.str(DCM_ScanOptions, q.scan_options);
  w.str(DCM_MRAcquisitionType, q.acquisition_type);
  w.str(DCM_SequenceName, q.sequence_name);
  w.str(DCM_AngioFlag, "N");
  w.str(DCM_RepetitionTime, decimal_string(q.repetition_time_ms));
  w.str(DCM_EchoTime, decimal_string(q.echo_time_ms));
  w.str(DCM_EchoTrainLength, std::to_string(q.echo_train_length));
  w.str(DCM_NumberOfAverages, "1");
  w.str(DCM_ImagingFrequency, decimal_string(kImagingFrequencyMhz));
  w.str(DCM_ImagedNucleus, "1H");
  w.str(DCM_EchoNumbers, "1");
  w.str(DCM_MagneticFieldStrength, decimal_string(kFieldStrengthT));
  w.str(DCM_FlipAngle, decimal_string(q.flip_angle_deg));
  w.str(DCM_ReceiveCoilName, "Body");
  w.str(DCM_TransmitCoilName, "Body");
  w.str(DCM_InPlanePhaseEncodingDirection, "ROW");
  if (q.b_value) w.f64(DCM_DiffusionBValue, *q.b_value);
  if (series_.temporal_position) {
    w.str(DCM_TemporalPositionIdentifier, std::to_string(*series_.temporal_position));
    w.str(DCM_NumberOfTemporalPositions, std::to_string(series_.temporal_positions));
  }
  // MR image pixel: unsigned 12-bit signal, no rescale
  w.u16(DCM_BitsStored, 12);
  w.u16(DCM_HighBit, 11);
  w.u16(DCM_PixelRepresentation, 0);
  w.str(DCM_WindowCenter, decimal_string(series_.window_centre));
  w.str(DCM_WindowWidth, decimal_string(series_.window_width));
  w.pixels(pixels);
  save_slice(format, file);
}

}  // namespace livernode::phantom
