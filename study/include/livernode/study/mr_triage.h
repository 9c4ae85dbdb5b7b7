#pragma once
// What each series of an abdominal MR study is, from its header: the liver protocol holds
// localizers, T2, diffusion and its ADC map, T1 in/opposed phase (Dixon), the T1 dynamic
// gradient-echo series (pre-contrast, arterial, portal venous, transitional, hepatobiliary),
// subtractions and reformats. The triage names each series' role and the evidence for it, so that
// the report can list every series with what it is and why it was or was not used.
#include <optional>
#include <string>

#include "livernode/dicom/series.h"

namespace livernode::study {

enum class MrRole {
  kT1Dynamic,    // T1-weighted 3D gradient echo (VIBE, LAVA, THRIVE), with or without contrast
  kT1Dixon,      // T1 in/opposed phase, water or fat image
  kT2,           // T2-weighted spin echo (HASTE, SSFSE, TSE), with or without fat suppression
  kDiffusion,    // diffusion-weighted echo planar imaging
  kAdc,          // apparent diffusion coefficient map
  kSubtraction,  // post minus pre contrast
  kDerived,      // another derived image (MPR, MIP, projection)
  kOther,        // none of the above
};

const char* mr_role_name(MrRole role);

struct MrTriage {
  MrRole role = MrRole::kOther;
  std::string evidence;  // the header facts that decided, one sentence
  // Time points of the series (several dynamic phases in one series), 1 when it holds one
  // acquisition; `temporal_position` says which one this volume is, when the series holds several.
  std::size_t time_points = 1;
  std::optional<long> temporal_position;
};

MrTriage triage_mr_series(const dicom::SeriesInfo& series);

// One MR volume of an examination (a series, or one time point of a multi-temporal series),
// with its triage and whether the analysis uses it, and why (or why not).
struct MrSeriesChoice {
  const dicom::SeriesInfo* series = nullptr;
  MrTriage triage;
  bool used = false;
  std::string reason;
};

// The T1 dynamic run: the T1 gradient-echo volumes of one acquisition protocol (same matrix,
// pixel spacing, orientation, slice positions, TR, TE, flip angle and scan options), the largest
// such set, in time order (AcquisitionTime, then TemporalPositionIdentifier, then series
// number). Sets `used` and `reason` of every choice; returns the indices of the run's volumes
// in time order (empty when the study has no T1 gradient-echo volume).
std::vector<std::size_t> select_mr_dynamic(std::vector<MrSeriesChoice>& choices);

}  // namespace livernode::study
