#include "livernode/processing/analysis.h"

#include <sstream>

#include "abdomen_survey.h"
#include "liver_segmentation.h"
#include "mask_ops.h"
#include "phase_registration.h"
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
  std::string alignment_note;
  if (result.reference_series >= 0) {
    const std::size_t ref = static_cast<std::size_t>(result.reference_series);
    // With more than one phase, the reference liver is segmented again with the other phases
    // as evidence (regions that differ from the liver in any phase stay out).
    if (study.series.size() > 1) {
      const Geometry& grid = surveys[ref].coarse.geometry;
      LabelMap region;
      if (livers[ref].failure.empty()) {
        region = detail::dilate_mm(detail::resample_nearest(livers[ref].mask, grid), 10.0);
      }
      std::vector<detail::SupportingPhase> supporting;
      std::ostringstream aligned;
      for (std::size_t i = 0; i < study.series.size(); ++i) {
        if (i == ref || !surveys[i].axial || !surveys[i].right_upper_quadrant_mode_hu) continue;
        const auto a = detail::align_translation(surveys[ref].coarse, surveys[i].coarse, region);
        detail::SupportingPhase phase;
        phase.aligned = detail::resample_translated(surveys[i].coarse, grid, a.translation_mm, -2000.0f);
        phase.window_low_hu = *surveys[i].right_upper_quadrant_mode_hu - 25.0;
        phase.window_high_hu = *surveys[i].right_upper_quadrant_mode_hu + 45.0;
        supporting.push_back(std::move(phase));
        aligned.precision(1);
        aligned << std::fixed << " " << phase_name(result.series[i].phase.phase) << " shifted by ("
                << a.translation_mm[0] << ", " << a.translation_mm[1] << ", "
                << a.translation_mm[2] << ") mm" << (a.converged ? "" : " (did not converge)")
                << ";";
      }
      alignment_note = aligned.str();
      auto joint = detail::segment_liver(*study.series[ref].volume, surveys[ref], supporting);
      if (joint.failure.empty()) livers[ref] = std::move(joint);
    }
    auto& liver = livers[ref];
    if (liver.failure.empty()) {
      LiverResult lr;
      lr.volume_ml = liver.volume_ml;
      lr.mean_hu = liver.mean_hu;
      std::ostringstream m;
      m.precision(0);
      m << std::fixed << "automatic, classical: parenchyma window " << liver.window_low_hu << " to "
        << liver.window_high_hu << " HU split at necks, regions joined while like the liver in every phase, closing, hole filling, "
        << "full-resolution boundary";
      lr.method = m.str();
      result.liver = lr;
      result.liver_mask = std::move(liver.mask);
      result.stages.push_back({"liver", true, lr.method});
    } else {
      result.stages.push_back({"liver", false, "liver not segmented: " + liver.failure});
    }
  }
  result.stages.push_back(
      {"registration", !alignment_note.empty(),
       alignment_note.empty() ? "a single phase: nothing to align"
                              : "rigid translation onto the reference phase (Mattes mutual "
                                "information over the liver region):" + alignment_note +
                                    " deformable registration is not implemented yet"});
  result.stages.push_back({"lesions", false, "lesion detection is not implemented yet"});
  result.stages.push_back({"volumetry", result.liver.has_value(),
                           result.liver ? "total liver volume only; tumour volume needs lesions"
                                        : "no liver volume without a liver mask"});
  return result;
}

}  // namespace livernode::processing
