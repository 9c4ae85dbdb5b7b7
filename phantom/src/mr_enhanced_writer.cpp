#include "mr_enhanced_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "phantom_study.h"

namespace livernode::phantom {

namespace {

bool has(const std::string& values, const char* value) {
  return values.find(value) != std::string::npos;
}

const char* yes_no(bool yes) { return yes ? "YES" : "NO"; }

// Seconds of the day of a TM written by dicom_time ("HHMMSS").
double seconds_of(const std::string& tm) {
  if (tm.size() < 6) throw std::logic_error("EnhancedMrWriter: bad time " + tm);
  return std::stoi(tm.substr(0, 2)) * 3600.0 + std::stoi(tm.substr(2, 2)) * 60.0 +
         std::stoi(tm.substr(4, 2));
}

void code(TagWriter item, const char* value, const char* scheme, const char* meaning) {
  item.str(DCM_CodeValue, value);
  item.str(DCM_CodingSchemeDesignator, scheme);
  item.str(DCM_CodeMeaning, meaning);
}

// What the classic sequence attributes of the phantom's series say in Enhanced MR's terms.
struct PulseSequence {
  bool gradient = false;        // gradient echo (GR); otherwise spin echo (SE, and EP: SE-EPI)
  bool echo_planar = false;     // EP
  bool fat_suppressed = false;  // scan option FS
  bool single_shot = false;     // segmented k-space variant SK: HASTE, single-shot EPI
  bool spoiled = false;         // variant SP
  bool volume = false;          // 3D
};

PulseSequence pulse_sequence(const MrSequenceInfo& q) {
  PulseSequence p;
  p.gradient = has(q.scanning_sequence, "GR");
  p.echo_planar = has(q.scanning_sequence, "EP");
  p.fat_suppressed = has(q.scan_options, "FS");
  p.single_shot = has(q.sequence_variant, "SK");
  p.spoiled = has(q.sequence_variant, "SP");
  p.volume = q.acquisition_type == "3D";
  return p;
}

// MR Pulse Sequence module (original images only: a derived image, such as an ADC map, has no
// pulse sequence of its own).
void put_pulse_sequence(TagWriter& w, const MrSequenceInfo& q, const PulseSequence& p) {
  w.str(DCM_PulseSequenceName, q.sequence_name);
  w.str(DCM_MRAcquisitionType, q.acquisition_type);
  w.str(DCM_EchoPulseSequence, p.gradient ? "GRADIENT" : "SPIN");
  if (!p.gradient) w.str(DCM_MultipleSpinEcho, yes_no(!p.echo_planar && q.echo_train_length > 1));
  w.str(DCM_MultiPlanarExcitation, "NO");
  w.str(DCM_PhaseContrast, "NO");
  w.str(DCM_TimeOfFlightContrast, "NO");
  w.str(DCM_SteadyStatePulseSequence, "NONE");
  w.str(DCM_EchoPlanarPulseSequence, yes_no(p.echo_planar));
  w.str(DCM_SaturationRecovery, "NO");
  w.str(DCM_SpectrallySelectedSuppression, p.fat_suppressed ? "FAT" : "NONE");
  w.str(DCM_OversamplingPhase, "NONE");
  w.str(DCM_GeometryOfKSpaceTraversal, "RECTILINEAR");
  w.str(DCM_RectilinearPhaseEncodeReordering, "LINEAR");
  // SINGLE: one echo per excitation; FULL: the whole of k-space from one shot.
  w.str(DCM_SegmentedKSpaceTraversal, p.single_shot ? "FULL" : "SINGLE");
  if (p.volume) w.str(DCM_CoverageOfKSpace, "FULL");
  w.str(DCM_NumberOfKSpaceTrajectories, "1");
}

// The MR functional groups every frame of the series shares.
void put_mr_groups(TagWriter& shared, const MrSequenceInfo& q, const PulseSequence& p,
                   const processing::Geometry& g) {
  {
    TagWriter t = shared.item(DCM_MRTimingAndRelatedParametersSequence);
    t.str(DCM_RepetitionTime, decimal_string(q.repetition_time_ms));
    t.str(DCM_FlipAngle, decimal_string(q.flip_angle_deg));
    t.str(DCM_EchoTrainLength, std::to_string(q.echo_train_length));
    // RF echoes per excitation (0: pure gradient echo) and gradient echoes per RF echo.
    const int rf = p.gradient ? 0 : (p.echo_planar ? 1 : q.echo_train_length);
    const int gradient = p.echo_planar ? q.echo_train_length : (p.gradient ? 1 : 0);
    t.str(DCM_RFEchoTrainLength, std::to_string(rf));
    t.str(DCM_GradientEchoTrainLength, std::to_string(gradient));
    TagWriter sar = t.item(DCM_SpecificAbsorptionRateSequence);
    sar.str(DCM_SpecificAbsorptionRateDefinition, "IEC_WHOLE_BODY");
    sar.str(DCM_SpecificAbsorptionRateValue, p.gradient ? "0.4" : "1.6");
    t.str(DCM_GradientOutputType, "DB_DT");
    t.str(DCM_GradientOutput, p.echo_planar ? "38" : "22");
    for (const char* type : {"STATIC FIELD", "RF", "GRADIENT"}) {
      TagWriter mode = t.item(DCM_OperatingModeSequence);
      mode.str(DCM_OperatingModeType, type);
      mode.str(DCM_OperatingMode, "IEC_NORMAL");
    }
  }
  {
    TagWriter fov = shared.item(DCM_MRFOVGeometrySequence);
    fov.str(DCM_InPlanePhaseEncodingDirection, "ROW");
    fov.str(DCM_MRAcquisitionFrequencyEncodingSteps, std::to_string(g.size[0]));
    fov.str(DCM_MRAcquisitionPhaseEncodingStepsInPlane, std::to_string(g.size[1]));
    if (p.volume) fov.str(DCM_MRAcquisitionPhaseEncodingStepsOutOfPlane, std::to_string(g.size[2]));
    fov.str(DCM_PercentSampling, "100");
    fov.str(DCM_PercentPhaseFieldOfView, "100");
  }
  shared.item(DCM_MREchoSequence).str(DCM_EffectiveEchoTime, decimal_string(q.echo_time_ms));
  {
    TagWriter m = shared.item(DCM_MRModifierSequence);
    m.str(DCM_InversionRecovery, "NO");
    m.str(DCM_FlowCompensation, "NONE");
    if (p.gradient) m.str(DCM_Spoiling, p.spoiled ? "RF_AND_GRADIENT" : "NONE");
    m.str(DCM_T2Preparation, "NO");
    m.str(DCM_SpectrallySelectedExcitation, "NONE");
    m.str(DCM_SpatialPresaturation, "NONE");
    m.str(DCM_PartialFourier, "NO");
    m.str(DCM_ParallelAcquisition, "NO");
  }
  {
    TagWriter m = shared.item(DCM_MRImagingModifierSequence);
    m.str(DCM_MagnetizationTransfer, "NONE");
    m.str(DCM_BloodSignalNulling, "NO");
    m.str(DCM_Tagging, "NONE");
    m.str(DCM_TransmitterFrequency, decimal_string(kImagingFrequencyMhz));
    m.str(DCM_PixelBandwidth, p.echo_planar ? "1500" : (p.gradient ? "400" : "700"));
  }
  {
    TagWriter coil = shared.item(DCM_MRReceiveCoilSequence);
    coil.str(DCM_ReceiveCoilName, "Body");
    coil.str(DCM_ReceiveCoilManufacturerName, "");
    coil.str(DCM_ReceiveCoilType, "BODY");
    coil.str(DCM_QuadratureReceiveCoil, "NO");
  }
  {
    TagWriter coil = shared.item(DCM_MRTransmitCoilSequence);
    coil.str(DCM_TransmitCoilName, "Body");
    coil.str(DCM_TransmitCoilManufacturerName, "");
    coil.str(DCM_TransmitCoilType, "BODY");
  }
  shared.item(DCM_MRAveragesSequence).str(DCM_NumberOfAverages, "1");
  if (q.b_value) {
    TagWriter d = shared.item(DCM_MRDiffusionSequence);
    d.str(DCM_DiffusionBValue, decimal_string(*q.b_value));
    d.str(DCM_DiffusionDirectionality, "ISOTROPIC");  // trace-weighted
  }
}

}  // namespace

EnhancedMrWriter::EnhancedMrWriter(StudyInfo study, const processing::Geometry& geometry)
    : study_(std::move(study)), geometry_(geometry) {}

int EnhancedMrWriter::add_frame(const MrSeriesInfo& volume, std::size_t k,
                                const std::vector<std::uint16_t>& pixels) {
  if (pixels.size() != geometry_.size[0] * geometry_.size[1])
    throw std::logic_error("EnhancedMrWriter: pixel count does not match the geometry");
  if (!series_) series_ = volume;
  frames_.push_back({k, volume.temporal_position, volume.acquisition_time});
  pixels_.insert(pixels_.end(), pixels.begin(), pixels.end());
  return static_cast<int>(frames_.size());
}

void EnhancedMrWriter::write(const std::filesystem::path& file, const std::string& sop_instance_uid,
                             const std::string& dimension_organization_uid) const {
  if (!series_ || frames_.empty())
    throw std::logic_error("EnhancedMrWriter: no frame to write to " + file.string());
  const processing::Geometry& g = geometry_;
  const MrSeriesInfo& s = *series_;
  const MrSequenceInfo& q = s.sequence;
  const PulseSequence p = pulse_sequence(q);
  DcmFileFormat format;
  DcmDataset& ds = *format.getDataset();
  TagWriter w(ds, file);

  SliceIdentity id;
  id.sop_class_uid = UID_EnhancedMRImageStorage;
  id.modality = "MR";
  id.sop_instance_uid = sop_instance_uid;
  id.series_uid = s.series_uid;
  id.description = s.description;
  id.protocol_name = s.protocol_name;
  id.series_number = s.series_number;
  id.instance_number = 1;
  id.series_time = s.series_time;
  put_identity_tags(w, study_, id, g);

  // The acquisition: from the first volume's start to the last one's end. Every frame of a
  // volume has its volume's start and duration (a 3-D volume is one k-space).
  std::set<int> temporal_positions;
  double first = seconds_of(frames_.front().acquisition_time), last = first;
  for (const Frame& f : frames_) {
    if (f.temporal_position) temporal_positions.insert(*f.temporal_position);
    first = std::min(first, seconds_of(f.acquisition_time));
    last = std::max(last, seconds_of(f.acquisition_time));
  }
  const bool temporal = temporal_positions.size() > 1;
  auto date_time = [&](double seconds) { return study_.study_date + dicom_time(seconds); };

  // Enhanced General Equipment
  w.str(DCM_DeviceSerialNumber, "0001");
  w.str(DCM_SoftwareVersions, "livernode phantom");
  // Enhanced MR Image (with the MR Image and Spectroscopy Instance and MR Image Description
  // macros) and Multi-frame Functional Groups
  w.str(DCM_ImageType, q.enhanced_image_type);
  w.str(DCM_PixelPresentation, "MONOCHROME");
  w.str(DCM_VolumetricProperties, "VOLUME");
  w.str(DCM_VolumeBasedCalculationTechnique, "NONE");
  w.str(DCM_ComplexImageComponent, "MAGNITUDE");
  w.str(DCM_AcquisitionContrast, q.acquisition_contrast);
  w.str(DCM_ContentDate, study_.study_date);
  w.str(DCM_ContentTime, dicom_time(last));
  w.str(DCM_AcquisitionNumber, "1");
  w.str(DCM_AcquisitionDateTime, date_time(first));
  w.str(DCM_AcquisitionDuration, decimal_string(last - first + q.acquisition_duration_s));
  w.str(DCM_ContentQualification, "RESEARCH");
  w.str(DCM_ResonantNucleus, "1H");
  w.str(DCM_KSpaceFiltering, "NONE");
  w.str(DCM_MagneticFieldStrength, decimal_string(kFieldStrengthT));
  w.str(DCM_ApplicableSafetyStandardAgency, "IEC");
  w.str(DCM_BurnedInAnnotation, "NO");
  w.str(DCM_PresentationLUTShape, "IDENTITY");
  w.str(DCM_LossyImageCompression, "00");
  w.str(DCM_NumberOfFrames, std::to_string(frames_.size()));
  // MR Pulse Sequence, Acquisition Context
  if (q.enhanced_image_type.rfind("ORIGINAL", 0) == 0) put_pulse_sequence(w, q, p);
  w.empty_sequence(DCM_AcquisitionContextSequence);

  // Enhanced Contrast/Bolus
  if (s.contrast_agent) {
    TagWriter agent = w.item(DCM_ContrastBolusAgentSequence);
    const bool gadoxetate = has(*s.contrast_agent, "Gadoxetate");
    code(agent, gadoxetate ? "GADOXETATE" : "GADOTERATE", "99LIVERNODE", s.contrast_agent->c_str());
    agent.str(DCM_ContrastBolusAgentNumber, "1");
    code(agent.item(DCM_ContrastBolusAdministrationRouteSequence), "47625008", "SCT",
         "Intravenous route");
    agent.empty_sequence(DCM_ContrastBolusIngredientCodeSequence);
    agent.str(DCM_ContrastBolusVolume, "");
    agent.str(DCM_ContrastBolusIngredientConcentration, "");
    if (s.contrast_start_time) {
      TagWriter profile = agent.item(DCM_ContrastAdministrationProfileSequence);
      profile.str(DCM_ContrastBolusVolume, "");
      profile.str(DCM_ContrastBolusStartTime, *s.contrast_start_time);
    }
  }

  // Multi-frame Dimension: frames indexed by temporal position (multi-temporal series) and
  // position in the stack.
  {
    TagWriter organisation = w.item(DCM_DimensionOrganizationSequence);
    organisation.str(DCM_DimensionOrganizationUID, dimension_organization_uid);
    w.str(DCM_DimensionOrganizationType, temporal ? "3D_TEMPORAL" : "3D");
    std::vector<std::pair<DcmTagKey, const char*>> dimensions;
    if (temporal) dimensions.push_back({DCM_TemporalPositionIndex, "Temporal position"});
    dimensions.push_back({DCM_InStackPositionNumber, "Position in stack"});
    for (const auto& [pointer, label] : dimensions) {
      TagWriter index = w.item(DCM_DimensionIndexSequence);
      index.tag(DCM_DimensionIndexPointer, pointer);
      index.tag(DCM_FunctionalGroupPointer, DCM_FrameContentSequence);
      index.str(DCM_DimensionOrganizationUID, dimension_organization_uid);
      index.str(DCM_DimensionDescriptionLabel, label);
    }
  }

  // Shared Functional Groups
  {
    TagWriter shared = w.item(DCM_SharedFunctionalGroupsSequence);
    {
      TagWriter m = shared.item(DCM_PixelMeasuresSequence);
      m.str(DCM_PixelSpacing, join_ds({g.spacing[1], g.spacing[0]}));
      m.str(DCM_SliceThickness, decimal_string(g.spacing[2]));
      m.str(DCM_SpacingBetweenSlices, decimal_string(g.spacing[2]));
    }
    const processing::Vec3 row = g.axis(0), col = g.axis(1);
    shared.item(DCM_PlaneOrientationSequence)
        .str(DCM_ImageOrientationPatient,
             join_ds({row[0], row[1], row[2], col[0], col[1], col[2]}));
    {
      TagWriter anatomy = shared.item(DCM_FrameAnatomySequence);
      code(anatomy.item(DCM_AnatomicRegionSequence), "818981001", "SCT", "Abdomen");
      anatomy.str(DCM_FrameLaterality, "U");
    }
    {
      // Stored values are the signal: no rescale.
      TagWriter rescale = shared.item(DCM_PixelValueTransformationSequence);
      rescale.str(DCM_RescaleIntercept, "0");
      rescale.str(DCM_RescaleSlope, "1");
      rescale.str(DCM_RescaleType, "US");
    }
    {
      TagWriter voi = shared.item(DCM_FrameVOILUTSequence);
      voi.str(DCM_WindowCenter, decimal_string(s.window_centre));
      voi.str(DCM_WindowWidth, decimal_string(s.window_width));
    }
    {
      TagWriter type = shared.item(DCM_MRImageFrameTypeSequence);
      type.str(DCM_FrameType, q.enhanced_image_type);
      type.str(DCM_PixelPresentation, "MONOCHROME");
      type.str(DCM_VolumetricProperties, "VOLUME");
      type.str(DCM_VolumeBasedCalculationTechnique, "NONE");
      type.str(DCM_ComplexImageComponent, "MAGNITUDE");
      type.str(DCM_AcquisitionContrast, q.acquisition_contrast);
    }
    if (s.contrast_agent) {
      TagWriter usage = shared.item(DCM_ContrastBolusUsageSequence);
      usage.str(DCM_ContrastBolusAgentNumber, "1");
      usage.str(DCM_ContrastBolusAgentAdministered, "YES");
      usage.str(DCM_ContrastBolusAgentDetected, "YES");
    }
    put_mr_groups(shared, q, p, g);
  }

  // Per-frame Functional Groups: where the frame is and when it was acquired.
  for (const Frame& f : frames_) {
    TagWriter frame = w.item(DCM_PerFrameFunctionalGroupsSequence);
    {
      TagWriter content = frame.item(DCM_FrameContentSequence);
      const std::string when = date_time(seconds_of(f.acquisition_time));
      content.str(DCM_FrameAcquisitionNumber, "1");
      content.str(DCM_FrameReferenceDateTime, when);
      content.str(DCM_FrameAcquisitionDateTime, when);
      content.str(DCM_FrameAcquisitionDuration,
                  decimal_string(1000.0 * q.acquisition_duration_s));  // ms
      content.str(DCM_StackID, "1");
      content.str(DCM_InStackPositionNumber, std::to_string(f.slice + 1));
      std::string index = std::to_string(f.slice + 1);
      if (temporal) {
        const int position = f.temporal_position.value_or(1);
        content.str(DCM_TemporalPositionIndex, std::to_string(position));
        index = std::to_string(position) + "\\" + index;
      }
      content.str(DCM_DimensionIndexValues, index);
    }
    const processing::Vec3 position = g.index_to_point(0.0, 0.0, static_cast<double>(f.slice));
    frame.item(DCM_PlanePositionSequence)
        .str(DCM_ImagePositionPatient, join_ds({position[0], position[1], position[2]}));
  }

  // MR image pixel: unsigned 12-bit signal, no rescale
  w.u16(DCM_BitsStored, 12);
  w.u16(DCM_HighBit, 11);
  w.u16(DCM_PixelRepresentation, 0);
  w.pixels(pixels_);
  save_slice(format, file);
}

}  // namespace livernode::phantom
