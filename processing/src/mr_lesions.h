#pragma once
// Focal liver lesions on the T1 dynamic run of an MR study, from relative signal only (MR has no
// absolute scale): each time point bias-corrected, divided by its paraspinal muscle signal and
// aligned onto the reference time point (mr_dynamic.h); a lesion is hypointense to the liver
// parenchyma in the portal venous (else transitional, else hepatobiliary) time point or
// hyperintense in the arterial one, by more than that time point's noise-based threshold. Each
// lesion is measured like a CT lesion (volume, RECIST axes) with its signal over the
// surrounding parenchyma in every time point and, when a T2 series exists, on T2, and typed with
// the CT types (hypervascular with/without washout, hypovascular, cyst-like, indeterminate).
#include <optional>
#include <string>
#include <vector>

#include "lesion_detection.h"
#include "livernode/processing/image.h"
#include "livernode/processing/mr_dynamic.h"

namespace livernode::processing::detail {

struct MrLesionTimePoint {
  MrPhase phase = MrPhase::kUnknown;
  std::string series_uid;
  const Volume* image = nullptr;  // normalised, on the reference grid; below 0 = no data
};

// A T2 series or an ADC map on the reference grid (its own scale: only ratios to the parenchyma
// are used); below 0 = no data (an ADC map's 0 outside the body as well).
struct MrLesionT2 {
  std::string series_uid;
  const Volume* image = nullptr;
};

// `reference` indexes `time_points` (the grid of `liver`).
LesionDetection detect_mr_lesions(const std::vector<MrLesionTimePoint>& time_points,
                                  std::size_t reference, const LabelMap& liver,
                                  const std::optional<MrLesionT2>& t2,
                                  const std::optional<MrLesionT2>& adc = std::nullopt);

}  // namespace livernode::processing::detail
