// Couinaud segments and the future liver remnant on MR (mr_dynamic.h): the CT landmarks (IVC
// axis, hepatic veins, portal plane) read from the time point whose hepatic vessels stand out
// most above the parenchyma (else the one where they are darkest), its signal mapped onto a
// CT-like scale first.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "livernode/processing/mr_dynamic.h"
#include "median.h"
#include "mr_anatomy.h"
#include "surgical_planning_stage.h"

namespace livernode::processing {

namespace {

// The CT-like scale: the parenchyma at kParenchymaLevel, the hepatic vessels kVesselContrast
// above it, as in a portal venous CT (portal and hepatic veins 50-90 HU above the parenchyma),
// whatever their contrast on MR; where the vessels are darker than the liver (hepatobiliary
// time point, before contrast) the scale is inverted so that they stand above it as well.
constexpr double kParenchymaLevel = 100.0;
constexpr double kVesselContrast = 70.0;
// A time point whose hepatic vessels differ from the parenchyma by less than this (relative
// signal) shows no vessels to place the planes by.
constexpr double kMinVesselContrast = 0.08;
constexpr double kOutside = -1000.0;  // no data, or outside the body: air on the CT-like scale

}  // namespace

void plan_surgery_on_mr(const MrDynamicResult& dynamic, const PlanningInputs& planning,
                        AnalysisResult& result) {
  auto not_done = [&](const std::string& why) {
    result.stages.push_back({"couinaud", false, "no Couinaud segments on MR: " + why});
    result.stages.push_back(
        {"surgical_planning", false, "no remnant volumes without Couinaud segments"});
  };
  if (result.liver_mask.empty()) {
    not_done("no liver");
    return;
  }
  const Geometry& g = result.liver_mask.geometry;
  // The time point whose hepatic vessels stand out most above the parenchyma, as on the
  // portal venous or delayed CT the landmark rules were made for; only when none shows them
  // brighter by kMinVesselContrast, the one where they are darkest (hepatobiliary, before
  // contrast).
  int best = -1;
  double best_contrast = 0.0;
  auto better = [](double c, double than) {
    const bool bright = c >= kMinVesselContrast, bright_than = than >= kMinVesselContrast;
    if (bright != bright_than) return bright;
    return bright ? c > than : std::abs(c) > std::abs(than);
  };
  for (std::size_t i = 0; i < dynamic.time_points.size(); ++i) {
    const auto& tp = dynamic.time_points[i];
    if (i >= dynamic.aligned.size() || !dynamic.aligned[i].geometry.same_grid(g)) continue;
    if (!tp.vessel_ratio || !tp.liver_ratio || *tp.liver_ratio <= 0.0) continue;
    const double c = *tp.vessel_ratio / *tp.liver_ratio - 1.0;
    if (best < 0 || better(c, best_contrast)) {
      best = static_cast<int>(i);
      best_contrast = c;
    }
  }
  if (best < 0) {
    not_done("the hepatic vessels were not measured on any aligned time point");
    return;
  }
  if (std::abs(best_contrast) < kMinVesselContrast) {
    std::ostringstream why;
    why.precision(0);
    why << std::fixed << "the hepatic vessels differ from the parenchyma by "
        << 100.0 * std::abs(best_contrast) << " % at most (time point "
        << mr_phase_name(dynamic.time_points[static_cast<std::size_t>(best)].phase)
        << "), too little to trace them";
    not_done(why.str());
    return;
  }
  const Volume& signal = dynamic.aligned[static_cast<std::size_t>(best)];
  const bool has_lesions = result.lesion_labels.voxels.size() == result.liver_mask.voxels.size();
  std::vector<float> parenchyma;
  for (std::size_t p = 0; p < signal.voxels.size(); ++p)
    if (result.liver_mask.voxels[p] && !(has_lesions && result.lesion_labels.voxels[p]) &&
        signal.voxels[p] > -1000.0f)
      parenchyma.push_back(signal.voxels[p]);
  if (parenchyma.size() < 1000) {
    not_done("too little parenchyma with data on the vessel time point");
    return;
  }
  const double median = detail::median(parenchyma);
  // Relative signal -> CT-like units: the vessels' contrast becomes kVesselContrast.
  const double gain = kVesselContrast / best_contrast;  // negative: inverted
  Volume scaled = signal;
  for (std::size_t p = 0; p < scaled.voxels.size(); ++p) {
    const float s = signal.voxels[p];
    if (s <= -1000.0f) {
      scaled.voxels[p] = static_cast<float>(kOutside);
      continue;
    }
    // Lesions are not vessels: they keep the parenchyma's level, so that a dark lesion of an
    // inverted time point does not stand out as a vessel would.
    if (has_lesions && result.lesion_labels.voxels[p]) {
      scaled.voxels[p] = static_cast<float>(kParenchymaLevel);
      continue;
    }
    // Within the range of CT values (air to dense bone).
    const double v = kParenchymaLevel + gain * (s / median - 1.0);
    scaled.voxels[p] = static_cast<float>(std::clamp(v, kOutside, kParenchymaLevel + 400.0));
  }
  if (gain < 0) {
    // Inverted: tissue with hardly any signal (air, lung, suppressed fat) stays dark on the
    // CT-like scale; turned over it would be brighter than any vessel.
    for (std::size_t p = 0; p < scaled.voxels.size(); ++p)
      if (signal.voxels[p] > -1000.0f && signal.voxels[p] < 0.25 * median)
        scaled.voxels[p] = static_cast<float>(kOutside);
  }
  // The midline: the body's centre over the liver's slices (MR shows no bone to find the spine by).
  std::optional<double> midline;
  {
    LabelMap body(g, 0);
    for (std::size_t p = 0; p < body.voxels.size(); ++p)
      body.voxels[p] = signal.voxels[p] > -1000.0f && signal.voxels[p] > 0.25 * median;
    const auto extents = detail::slice_extents(body);
    std::vector<float> centres;
    for (std::size_t k = 0; k < g.size[2]; ++k) {
      if (!extents[k].trunk) continue;
      bool liver_here = false;
      const std::size_t plane = g.size[0] * g.size[1];
      for (std::size_t q = 0; q < plane && !liver_here; ++q)
        liver_here = result.liver_mask.voxels[k * plane + q] != 0;
      if (liver_here) centres.push_back(static_cast<float>(extents[k].centre_x()));
    }
    if (!centres.empty()) midline = detail::median(centres);
  }
  const std::size_t before = result.stages.size();
  detail::plan_surgery_stage(scaled, midline, std::nullopt, planning, result, nullptr,
                             "units of the CT-like scale");
  std::ostringstream how;
  how.precision(0);
  how << std::fixed << "on MR, the landmarks read on the "
      << mr_phase_name(dynamic.time_points[static_cast<std::size_t>(best)].phase)
      << " time point (hepatic vessels " << (best_contrast > 0 ? "+" : "") << 100.0 * best_contrast
      << (best_contrast > 0 ? " % against the parenchyma, the brightest of the run)"
                            : " % against the parenchyma: no time point shows them brighter)")
      << ", its signal mapped "
         "onto a CT-like scale (parenchyma "
      << kParenchymaLevel << ", hepatic vessels " << kParenchymaLevel + kVesselContrast
      << (best_contrast < 0 ? ", inverted: the vessels are darker than the liver there" : "")
      << ", lesions at the parenchyma's level), the midline from the body outline (no bone "
         "on MR to find the spine by): ";
  for (std::size_t s = before; s < result.stages.size(); ++s)
    if (result.stages[s].stage == "couinaud") result.stages[s].detail.insert(0, how.str());
  if (result.couinaud) result.couinaud->method.insert(0, how.str());
}

}  // namespace livernode::processing
