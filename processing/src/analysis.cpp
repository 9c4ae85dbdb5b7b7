#include "livernode/processing/analysis.h"

#include <sstream>

#include "abdomen_survey.h"
#include "liver_segmentation.h"
#include "phase_classifier.h"

namespace livernode::processing {

const char* lesion_type_name(LesionType t) {
  switch (t) {
    case LesionType::kHypervascularWashout: return "hypervascular with washout";
    case LesionType::kHypervascularNoWashout: return "hypervascular without washout";
    case LesionType::kHypovascular: return "hypovascular";
    case LesionType::kCystLike: return "cyst-like";
    case LesionType::kUnknown: break;
  }
  return "indeterminate";
}

namespace {

// Portal venous if present, else delayed, else arterial, else whatever was given first.
int choose_reference(const std::vector<SeriesAnalysis>& series, Phase preferred) {
  std::vector<Phase> order = {Phase::kPortalVenous, Phase::kDelayed, Phase::kArterial,
                              Phase::kNonContrast, Phase::kUnknown};
  if (preferred != Phase::kUnknown) order.insert(order.begin(), preferred);
  for (Phase want : order) {
    for (std::size_t i = 0; i < series.size(); ++i) {
      if (series[i].phase.phase == want) return static_cast<int>(i);
    }
  }
  return series.empty() ? -1 : 0;
}

}  // namespace

AnalysisResult analyse(const StudyInput& study, const AnalysisOptions& options) {
  AnalysisResult result;
  // Stage 1: survey each series and segment the liver in it (the mask gives the liver HU
  // the phase decision uses).
  std::vector<detail::AbdomenSurvey> surveys;
  std::vector<detail::LiverSegmentation> livers;
  std::vector<PhaseEstimate> phases;
  for (const auto& input : study.series) {
    surveys.push_back(detail::survey_abdomen(*input.volume));
    livers.push_back(detail::segment_liver(*input.volume, surveys.back()));
    detail::PhaseMeasurements m;
    m.aorta_hu = surveys.back().aorta_hu;
    if (livers.back().failure.empty()) m.liver_hu = livers.back().mean_hu;
    phases.push_back(detail::classify_phase(m, input.hints));
  }
  // Stage 2: phases made consistent across the examination.
  detail::reconcile_phases(phases);
  for (std::size_t i = 0; i < study.series.size(); ++i) {
    SeriesAnalysis sa;
    sa.series_uid = study.series[i].series_uid;
    sa.phase = phases[i];
    if (livers[i].failure.empty()) sa.liver_mean_hu = livers[i].mean_hu;
    result.series.push_back(std::move(sa));
  }
  result.stages.push_back({"phase", !result.series.empty(),
                           "phase of each series from aortic and liver attenuation"});

  // Stage 3: the reference series carries the liver result.
  result.reference_series = choose_reference(result.series, options.preferred_reference);
  if (result.reference_series >= 0) {
    auto& liver = livers[result.reference_series];
    if (liver.failure.empty()) {
      LiverResult lr;
      lr.volume_ml = liver.volume_ml;
      lr.mean_hu = liver.mean_hu;
      std::ostringstream m;
      m.precision(0);
      m << std::fixed << "automatic, classical: parenchyma window " << liver.window_low_hu << " to "
        << liver.window_high_hu << " HU, opening, right-sided component, closing, hole filling, "
        << "full-resolution boundary";
      lr.method = m.str();
      result.liver = lr;
      result.liver_mask = std::move(liver.mask);
      result.stages.push_back({"liver", true, lr.method});
    } else {
      result.stages.push_back({"liver", false, "liver not segmented: " + liver.failure});
    }
  }
  result.stages.push_back({"registration", false, "phase registration is not implemented yet"});
  result.stages.push_back({"lesions", false, "lesion detection is not implemented yet"});
  result.stages.push_back({"volumetry", result.liver.has_value(),
                           result.liver ? "total liver volume only; tumour volume needs lesions"
                                        : "no liver volume without a liver mask"});
  return result;
}

}  // namespace livernode::processing
