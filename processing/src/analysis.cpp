#include "livernode/processing/analysis.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <sstream>
#include <thread>

#include "abdomen_survey.h"
#include "image_crop.h"
#include "ivc_tracking.h"
#include "lesion_detection.h"
#include "liver_islands.h"
#include "liver_segmentation.h"
#include "mask_ops.h"
#include "phase_classifier.h"
#include "phase_registration.h"
#include "portal_vein.h"
#include "surgical_planning_stage.h"

namespace livernode::processing {

const char* lesion_type_name(LesionType t) {
  switch (t) {
    case LesionType::kHypervascularWashout:
      return "hypervascular with washout";
    case LesionType::kHypervascularNoWashout:
      return "hypervascular without washout";
    case LesionType::kHypovascular:
      return "hypovascular";
    case LesionType::kCystLike:
      return "cyst-like";
    case LesionType::kUnknown:
      break;
  }
  return "indeterminate";
}

namespace {

// Measured liver volume against the ESLV of the body size, outside which a warning is given.
constexpr double kLiverToEslvMin = 0.5, kLiverToEslvMax = 2.5;

double dice(const LabelMap& a, const LabelMap& b) {
  std::size_t na = 0, nb = 0, both = 0;
  for (std::size_t p = 0; p < a.voxels.size(); ++p) {
    na += a.voxels[p] != 0;
    nb += b.voxels[p] != 0;
    both += a.voxels[p] && b.voxels[p];
  }
  return na + nb ? 2.0 * both / (na + nb) : 1.0;
}

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

// The future liver remnant as drawn by hand: its part inside the liver, measured against the
// same threshold as the standard resections.
void apply_drawn_remnant(const LabelMap& drawn, const PlanningInputs& planning,
                         AnalysisResult& result) {
  if (!result.volumetry || drawn.voxels.size() != result.liver_mask.voxels.size()) return;
  result.remnant_mask = LabelMap(result.liver_mask.geometry, 0);
  std::size_t inside = 0, functional = 0, outside = 0;
  for (std::size_t p = 0; p < drawn.voxels.size(); ++p) {
    if (!drawn.voxels[p]) continue;
    if (!result.liver_mask.voxels[p]) {
      ++outside;
      continue;
    }
    result.remnant_mask.voxels[p] = 1;
    ++inside;
    if (result.lesion_labels.voxels.empty() || !result.lesion_labels.voxels[p]) ++functional;
  }
  const double voxel_ml = result.liver_mask.geometry.voxel_volume_ml();
  if (!result.surgical_plan) {
    // No Couinaud segments: the plan holds the body size, ESLV and threshold only.
    SurgicalPlan plan = plan_surgery(SegmentVolumes{}, {}, planning);
    plan.resections.clear();
    plan.statements.clear();
    plan.total_liver_ml = result.volumetry->liver_ml;
    plan.tumour_ml = result.volumetry->tumour_ml;
    plan.functional_liver_ml = result.volumetry->functional_ml;
    plan.statements.push_back(
        plan.eslv_ml ? "ESLV " + std::to_string(static_cast<long>(std::lround(*plan.eslv_ml))) +
                           " mL (" + plan.eslv_formula + ")"
                     : plan.eslv_absent_reason);
    result.surgical_plan = std::move(plan);
  }
  auto& plan = *result.surgical_plan;
  plan.drawn_remnant = evaluate_drawn_remnant(
      result.volumetry->liver_ml, inside * voxel_ml, functional * voxel_ml,
      result.volumetry->functional_ml, plan.eslv_ml, plan.flr_threshold_percent);
  std::string detail = "future liver remnant drawn by hand: " + plan.drawn_remnant->statement;
  if (outside) {
    detail += "; " + std::to_string(outside) + " drawn voxel(s) outside the liver not counted";
  }
  result.stages.push_back({"drawn_remnant", true, detail});
}

}  // namespace

double dome_z_mm(const LabelMap& liver) {
  const detail::Box box = detail::bounding_box(liver, 0.0);
  if (box.empty()) return 0.0;
  // The most cranial liver slice (the slice order may run either way).
  const Geometry& g = liver.geometry;
  return std::max(g.index_to_point(0, 0, static_cast<double>(box.lo[2]))[2],
                  g.index_to_point(0, 0, static_cast<double>(box.hi[2] - 1))[2]);
}

AnalysisResult analyse(const StudyInput& study, const AnalysisOptions& options) {
  AnalysisResult result;
  auto mark = std::chrono::steady_clock::now();
  auto add_stage = [&](StageStatus status) {
    const auto now = std::chrono::steady_clock::now();
    status.seconds = std::chrono::duration<double>(now - mark).count();
    mark = now;
    result.stages.push_back(std::move(status));
  };
  // Stage 1: survey each series and segment the liver in it, coarsely (the mask gives the liver
  // HU the phase decision uses).
  // The series are independent here: two at a time, one per core (much of the work is
  // single-threaded); the results do not depend on the order they finish in.
  const std::size_t n_series = study.series.size();
  const LiverAtlas& atlas = options.liver_atlas ? *options.liver_atlas : builtin_liver_atlas();
  std::vector<detail::AbdomenSurvey> surveys(n_series);
  std::vector<detail::LiverSegmentation> livers(n_series);
  std::vector<PhaseEstimate> phases(n_series);
  auto survey_series = [&](std::size_t i) {
    const auto& input = study.series[i];
    surveys[i] = detail::survey_abdomen(*input.volume);
    livers[i] = detail::segment_liver(*input.volume, surveys[i], {}, false, &atlas);
    detail::PhaseMeasurements m;
    m.aorta_hu = surveys[i].aorta_hu;
    if (livers[i].failure.empty()) {
      m.liver_hu = livers[i].mean_hu;
      m.portal_vein_hu = detail::measure_portal_vein(surveys[i], livers[i].mask, livers[i].mean_hu);
    }
    phases[i] = detail::classify_phase(m, input.hints);
  };
  {
    std::atomic<std::size_t> next{0};
    std::vector<std::exception_ptr> errors(n_series);
    auto worker = [&] {
      for (std::size_t i = next++; i < n_series; i = next++) {
        try {
          survey_series(i);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    std::thread second;
    if (n_series > 1) second = std::thread(worker);
    worker();
    if (second.joinable()) second.join();
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
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
  {
    std::string regions;
    for (std::size_t i = 0; i < n_series; ++i)
      regions +=
          std::string(i ? "; " : "") + phase_name(phases[i].phase) + ": " +
          (surveys[i].region_note.empty() ? "body region not located" : surveys[i].region_note);
    add_stage({"body_region", n_series > 0, regions});
  }
  add_stage({"phase", !result.series.empty(),
             "phase of each series from aortic, portal venous and liver attenuation"});

  // Stage 3: the reference series; the other phases aligned onto it.
  result.reference_series = choose_reference(result.series, options.preferred_reference);
  if (result.reference_series < 0) return result;
  const std::size_t ref = static_cast<std::size_t>(result.reference_series);
  std::vector<std::optional<detail::PhaseTransform>> transforms(study.series.size());
  std::ostringstream aligned;
  if (study.series.size() > 1) {
    LabelMap region;
    const bool have_liver = livers[ref].failure.empty();
    if (have_liver) region = detail::dilate_mm(livers[ref].mask, 10.0);  // coarse grid already
    const Geometry& grid = surveys[ref].coarse.geometry;
    for (std::size_t i = 0; i < study.series.size(); ++i) {
      if (i == ref || !surveys[i].axial) continue;
      const auto a = detail::align_phase(surveys[ref].coarse, surveys[i].coarse, region);
      transforms[i] = a.transform;
      PhaseRegistration reg;
      reg.translation_mm = a.transform.translation();
      reg.deformable = a.deformable;
      reg.note = a.translation_converged ? a.deformable_note : "translation did not converge";
      if (have_liver && livers[i].failure.empty()) {
        reg.liver_dice_before =
            dice(livers[ref].mask, detail::PhaseTransform().resample(livers[i].mask, grid));
        reg.liver_dice_after = dice(livers[ref].mask, a.transform.resample(livers[i].mask, grid));
      }
      aligned.precision(1);
      aligned << std::fixed << " " << phase_name(result.series[i].phase.phase) << ": shift ("
              << reg.translation_mm[0] << ", " << reg.translation_mm[1] << ", "
              << reg.translation_mm[2] << ") mm" << (reg.deformable ? " + B-spline" : "");
      if (reg.liver_dice_before) {
        aligned.precision(3);
        aligned << ", liver overlap Dice " << *reg.liver_dice_before << " -> "
                << *reg.liver_dice_after;
      }
      if (!reg.note.empty()) aligned << " (" << reg.note << ")";
      aligned << ";";
      result.series[i].registration = reg;
    }
  }
  const std::string alignment_note = aligned.str();
  add_stage({"registration", !alignment_note.empty(),
             alignment_note.empty()
                 ? "a single phase: nothing to align"
                 : "onto the reference phase by Mattes mutual information over the liver region, "
                   "translation then a coarse B-spline;" +
                       alignment_note});

  // Stage 4: the liver on the reference series: a site's own model when configured, else (or
  // when it fails) the built-in method with the other phases as evidence.
  // Segments corrected by hand take precedence over every automatic method.
  ManualSegments manual;
  if (options.manual_segments) {
    manual = options.manual_segments(study.series[ref].volume->geometry);
    auto usable = [&](std::optional<LabelMap>& m, const char* what) {
      if (!m) return;
      bool any = false;
      for (auto v : m->voxels) any = any || v;
      if (m->geometry.size != study.series[ref].volume->geometry.size || !any) {
        manual.notes.push_back(std::string("the corrected ") + what +
                               " segment is empty on the reference series and was not used");
        m.reset();
      }
    };
    usable(manual.liver, "liver");
    usable(manual.remnant, "remnant");
    ManualCorrections c;
    c.liver = manual.liver.has_value();
    c.lesions = manual.lesions.has_value();
    c.remnant = manual.remnant.has_value();
    c.source = manual.source;
    c.notes = manual.notes;
    for (const auto& n : manual.notes) result.warnings.push_back("correction: " + n);
    result.manual = std::move(c);
  }
  std::optional<ExternalLiver> external;
  if (manual.liver) {
    external =
        ExternalLiver{std::move(*manual.liver), "", "corrected by hand (" + manual.source + ")"};
  } else if (options.liver_backend) {
    external = options.liver_backend(*study.series[ref].volume);
    if (!external->failure.empty()) {
      result.warnings.push_back("external liver segmentation not used (" + external->failure +
                                "); the built-in method was used instead");
      external.reset();
    }
  }
  LiverResult lr;
  if (external) {
    lr.method = external->method;
    result.liver_mask = std::move(external->mask);
  } else {
    std::vector<detail::SupportingPhase> supporting;
    for (std::size_t i = 0; i < study.series.size(); ++i) {
      if (!transforms[i] || !surveys[i].right_upper_quadrant_mode_hu) continue;
      detail::SupportingPhase phase;
      phase.aligned =
          transforms[i]->resample(surveys[i].coarse, surveys[ref].coarse.geometry, -2000.0f);
      phase.window_low_hu = *surveys[i].right_upper_quadrant_mode_hu - 25.0;
      phase.window_high_hu = *surveys[i].right_upper_quadrant_mode_hu + 45.0;
      supporting.push_back(std::move(phase));
    }
    auto liver =
        detail::segment_liver(*study.series[ref].volume, surveys[ref], supporting, true, &atlas);
    if (!liver.failure.empty()) {
      add_stage({"liver", false, "liver not segmented: " + liver.failure});
      add_stage({"lesions", false, "no lesion search without a liver"});
      add_stage({"volumetry", false, "no volumes without a liver"});
      return result;
    }
    std::ostringstream m;
    m.precision(0);
    m << std::fixed << "automatic, classical: parenchyma window " << liver.window_low_hu << " to "
      << liver.window_high_hu << " HU split at necks, regions joined while like the liver in "
      << "every phase (within 5 mm craniocaudally), the cava above the dome dropped, closing, "
      << "hole filling, full-resolution boundary half way to the tissue beside the liver";
    if (!liver.location_prior.empty()) m << "; " << liver.location_prior;
    lr.method = m.str();
    result.liver_mask = std::move(liver.mask);
  }
  add_stage({"liver", true, lr.method});

  // Stage 5: lesions, from every phase aligned onto the reference grid.
  std::vector<detail::AlignedPhase> aligned_phases;
  std::size_t ref_in_aligned = 0;
  for (std::size_t i = 0; i < study.series.size(); ++i) {
    if (i != ref && !transforms[i]) continue;
    detail::AlignedPhase a;
    a.phase = result.series[i].phase.phase;
    a.series_uid = study.series[i].series_uid;
    if (i == ref) {
      ref_in_aligned = aligned_phases.size();
      a.volume = *study.series[i].volume;
    } else {
      // Only the liver's neighbourhood is needed: resampling through a deformation costs per
      // voxel.
      const detail::Box box = detail::bounding_box(result.liver_mask, 20.0);
      const Geometry near = detail::crop(result.liver_mask, box).geometry;
      a.volume = Volume(result.liver_mask.geometry, -2000.0f);
      detail::paste(a.volume, transforms[i]->resample(*study.series[i].volume, near, -2000.0f),
                    box);
    }
    aligned_phases.push_back(std::move(a));
  }
  // In-plane pieces of the automatic liver that another phase shows not to be liver.
  if (!external) {
    const std::size_t dropped =
        detail::drop_islands_unlike_the_liver(result.liver_mask, aligned_phases, ref_in_aligned);
    if (dropped > 0) {
      for (auto& st : result.stages) {
        if (st.stage != "liver") continue;
        std::ostringstream m;
        m.precision(1);
        m << std::fixed << "; " << dropped * result.liver_mask.geometry.voxel_volume_ml()
          << " mL of separate in-plane pieces left out, unlike the liver in another phase";
        st.detail += m.str();
      }
    }
  }
  // The IVC: traced in the phase that shows it best; its lumen leaves the liver where the
  // reference phase itself shows it (the liver volume excludes the cava).
  const detail::IvcTracing ivc = detail::track_ivc(
      aligned_phases, result.liver_mask, surveys[ref].spine_x, surveys[ref].spine_anterior_y);
  result.ivc_axis_lps = detail::ivc_axis(ivc.best, result.liver_mask.geometry);
  if (!external) {
    const detail::IvcTrack& own = ivc.per_phase[ref_in_aligned];
    const std::size_t carved = detail::carve_ivc(own, result.liver_mask);
    for (auto& st : result.stages) {
      if (st.stage != "liver") continue;
      std::ostringstream m;
      m.precision(1);
      m << std::fixed << "; " << (own.phase_index >= 0 ? own.summary : ivc.best.summary);
      if (carved > 0)
        m << "; its lumen (" << carved * result.liver_mask.geometry.voxel_volume_ml()
          << " mL) is not counted as liver";
      st.detail += m.str();
    }
  }
  const LabelMap cava_lumen = detail::ivc_lumen_of_any_phase(ivc, result.liver_mask.geometry);
  auto lesions = manual.lesions
                     ? detail::measure_given_lesions(aligned_phases, ref_in_aligned,
                                                     result.liver_mask, *manual.lesions)
                     : detail::detect_lesions(aligned_phases, ref_in_aligned, result.liver_mask,
                                              {surveys[ref].spine_x, surveys[ref].spine_anterior_y},
                                              &cava_lumen);
  if (manual.lesions) lesions.method += " (" + manual.source + ")";
  aligned_phases.clear();
  result.lesions = std::move(lesions.lesions);
  result.lesion_labels = std::move(lesions.labels);
  {
    std::string detail = lesions.method;
    for (const auto& n : lesions.notes) detail += "; " + n;
    add_stage({"lesions", true, detail});
  }

  // Stage 6: volumetry. Tumours are part of the liver volume.
  const Volume& ref_volume = *study.series[ref].volume;
  std::size_t liver_voxels = 0, tumour_voxels = 0;
  double sum = 0;
  for (std::size_t p = 0; p < result.liver_mask.voxels.size(); ++p) {
    if (result.lesion_labels.voxels[p]) {
      result.liver_mask.voxels[p] = 1;
      ++tumour_voxels;
    }
    if (result.liver_mask.voxels[p]) {
      ++liver_voxels;
      if (!result.lesion_labels.voxels[p]) sum += ref_volume.voxels[p];
    }
  }
  const double voxel_ml = result.liver_mask.geometry.voxel_volume_ml();
  Volumetry v;
  v.liver_ml = liver_voxels * voxel_ml;
  v.tumour_ml = tumour_voxels * voxel_ml;
  v.functional_ml = v.liver_ml - v.tumour_ml;
  v.burden_percent = v.liver_ml > 0 ? 100.0 * v.tumour_ml / v.liver_ml : 0.0;
  v.lesion_count = static_cast<int>(result.lesions.size());
  lr.volume_ml = v.liver_ml;
  lr.mean_hu = liver_voxels > tumour_voxels ? sum / (liver_voxels - tumour_voxels) : 0.0;
  for (std::size_t i = 0; i < result.series.size(); ++i) {
    const auto& s = result.series[i];
    if (s.phase.phase == Phase::kNonContrast && s.liver_mean_hu && *s.liver_mean_hu < 40.0) {
      std::ostringstream f;
      f.precision(0);
      f << std::fixed << "non-contrast liver attenuation " << *s.liver_mean_hu
        << " HU (below 40 HU suggests hepatic steatosis)";
      v.findings.push_back(f.str());
    }
  }
  lr.top_z_mm = dome_z_mm(result.liver_mask);
  // Plausibility against body size: an adult liver is mostly 0.6-1.6 times the standard liver
  // volume its body surface area predicts (cirrhosis shrinks it, tumours and congestion enlarge
  // it); below half or above two and a half times, the segmentation is more likely wrong than
  // the liver.
  if (const BodySize body = body_size(options.planning); body.eslv_ml) {
    const double ratio = v.liver_ml / *body.eslv_ml;
    if (ratio < kLiverToEslvMin || ratio > kLiverToEslvMax) {
      std::ostringstream w;
      w.precision(0);
      w << std::fixed << "the liver found (" << v.liver_ml << " mL) is " << 100.0 * ratio
        << " % of the standard liver volume of this body size (" << *body.eslv_ml << " mL, "
        << eslv_formula_name(options.planning.eslv_formula)
        << "): check the liver outline before using its volumes";
      result.warnings.push_back(w.str());
    }
  }
  result.liver = lr;
  result.volumetry = v;
  add_stage({"volumetry", true,
             "total liver (tumours included), tumour, functional volume and burden "
             "on the reference series"});

  // Stage 7: Couinaud segments and the future liver remnant of the standard resections.
  const std::size_t before = result.stages.size();
  detail::plan_surgery_stage(*study.series[ref].volume, surveys[ref].spine_x,
                             surveys[ref].spine_anterior_y, options.planning, result, &ivc.best);
  // The stage adds its own entries; the time it took goes to the first of them.
  if (result.stages.size() > before) {
    result.stages[before].seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - mark).count();
  }
  if (manual.remnant) apply_drawn_remnant(*manual.remnant, options.planning, result);
  return result;
}

}  // namespace livernode::processing
