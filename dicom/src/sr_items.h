#pragma once
// Building blocks of the TID 1500 report, shared by its writer and its follow-up sections:
// numbers as text, numeric measurements, measurement groups and text evaluations. Each throws
// DicomError naming what could not be added.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmsr/cmr/tid1500.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "writer_common.h"

namespace livernode::dicom::detail {

// `v` with `decimals` decimals, never "-0.0".
inline std::string sr_number(double v, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  std::string s = buffer;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

// One numeric measurement (always a new one) in a TID 1410/1411 or TID 1501 group.
template <typename Group>
void add_measurement(Group& group, const DSRBasicCodedEntry& concept, double value, int decimals,
                     const DSRBasicCodedEntry& unit, const std::filesystem::path& file) {
  require(group.addMeasurement(CID7469_GenericIntensityAndSizeMeasurements(concept),
                               typename Group::MeasurementValue(
                                   sr_number(value, decimals).c_str(),
                                   CID7181_AbstractMultiDimensionalImageModelComponentUnits(unit)),
                               OFFalse),
          std::string("cannot add the measurement ") + concept.CodeMeaning.c_str(), file);
}

// A new measurement group (TID 1501) with its tracking identifiers and finding.
inline TID1500_MeasurementReport::TID1501_Measurements& new_measurement_group(
    TID1500_MeasurementReport& report, const std::string& tracking_id,
    const DSRCodedEntryValue& finding, const std::filesystem::path& file) {
  require(report.addIndividualMeasurements(), "cannot add the measurement group " + tracking_id,
          file);
  auto& group = report.getIndividualMeasurements();
  require(group.setTrackingIdentifier(tracking_id), "cannot set the tracking ID", file);
  require(group.setTrackingUniqueIdentifier(new_uid()), "cannot set the tracking UID", file);
  require(group.setFinding(finding), "cannot set the finding", file);
  return group;
}

// A text evaluation of the report (at most 1000 characters).
inline void add_text(TID1500_MeasurementReport& report, const DSRBasicCodedEntry& concept,
                     const std::string& text, const std::filesystem::path& file) {
  require(report.addQualitativeEvaluation(DSRCodedEntryValue(concept),
                                          OFString(text.substr(0, 1000).c_str())),
          std::string("cannot add ") + concept.CodeMeaning.c_str(), file);
}

}  // namespace livernode::dicom::detail
