#include "mr_lesions.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "image_crop.h"
#include "lesion_measures.h"
#include "mask_ops.h"
#include "phase_registration.h"

namespace livernode::processing::detail {

namespace {

// Smoothing of the candidate search and of the parenchyma statistics, as on CT.
constexpr double kSmoothingMm = 1.5;
// Smallest contrast to the parenchyma (relative) a lesion is sought with, whatever the noise:
// after N4 the parenchyma still varies by several per cent across the liver (residual coil
// bias, partial volume with vessels), so a smaller difference from the liver's median is not
// tissue contrast. Above the noise: kNoiseFactor robust SDs of the smoothed parenchyma, relative
// to its median (the CT method's noise rule).
constexpr double kMinRelativeContrast = 0.10;
constexpr double kNoiseFactor = 3.0;
constexpr double kParenchymaErosionMm = 5.0;  // parenchyma statistics away from the surface
constexpr double kSurfaceBandMm = 3.0;        // candidates start inside it (surface partial volume)
constexpr double kOpeningMm = 2.5;       // thin structures (vessels, septa) taken off candidates
constexpr double kMinLesionMl = 0.4;     // as on CT: ~9 mm sphere; smaller candidates are noise
constexpr double kMaxElongation = 3.5;   // as on CT: above, a tube (vessel)
constexpr double kMinCompactness = 0.2;  // as on CT: volume / sphere of the longest diameter
constexpr double kRingInnerMm = 3.0, kRingOuterMm = 10.0;  // parenchyma around a lesion
// A lesion's own signal is measured on its interior: in from its edge by 1 mm and at least one
// voxel in-plane (partial volume with the parenchyma reaches a voxel; MR pixels are often
// coarser than CT's).
constexpr double kInteriorMm = 1.0;
// A lesion lies in parenchyma: most of a thin shell around it is liver of ordinary signal (as on
// CT). The gallbladder in its fossa, the hilum or a neighbouring organ that the liver mask
// touches is surrounded by other things. A large candidate mostly hyperintense in the arterial
// time point is exempt (its heterogeneous margin and the perfusion around it spoil the shell).
constexpr double kShellInnerMm = 2.0, kShellOuterMm = 6.0;
constexpr double kMinSurroundingParenchyma = 0.65;
constexpr double kLargeLesionMl = 20.0;
constexpr std::size_t kMinInteriorVoxels = 20;
// Hyperenhancement in part (LI-RADS "in whole or in part"), as on CT.
constexpr double kEnhancingPartFraction = 0.2;
// Fluid: T1 signal under half the parenchyma's before contrast (long T1; solid tumours are
// mildly hypointense), and on T2 at least three times the parenchyma's ("marked", fluid-like;
// solid tumours are mildly to moderately T2-bright, about up to twice the liver).
constexpr double kFluidT1MaxRatio = 0.5;
constexpr double kFluidT2MinRatio = 3.0;
// Diffusion (supporting words only): the liver's ADC is about 1.0-1.5 x 10^-3 mm2/s; solid
// malignant tumours lie below it (metastases and HCC about 0.7-0.9 of it), cysts far above
// (about 2-3 times: free water), haemangiomas in between.
constexpr double kRestrictedAdcMaxRatio = 0.85;
constexpr double kFreeAdcMinRatio = 1.8;

Phase ct_phase(MrPhase p) {
  switch (p) {
    case MrPhase::kPreContrast:
      return Phase::kNonContrast;
    case MrPhase::kArterial:
      return Phase::kArterial;
    case MrPhase::kPortalVenous:
      return Phase::kPortalVenous;
    case MrPhase::kTransitional:
    case MrPhase::kHepatobiliary:
      return Phase::kDelayed;
    case MrPhase::kUnknown:
      break;
  }
  return Phase::kUnknown;
}

// The first time point of `phase`, or -1.
int find_phase(const std::vector<MrLesionTimePoint>& tps, MrPhase phase) {
  for (std::size_t i = 0; i < tps.size(); ++i)
    if (tps[i].phase == phase && tps[i].image && !tps[i].image->empty()) return static_cast<int>(i);
  return -1;
}

// The phase in words ("portal venous").
std::string phase_words(MrPhase p) {
  std::string name = mr_phase_name(p);
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

std::string ratio_text(double r) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << r;
  return o.str();
}

// The parenchyma around a voxel set: liver voxels kRingInnerMm-kRingOuterMm from it, not in
// `excluded` (other lesions or candidates).
std::vector<std::size_t> parenchyma_ring(const std::vector<std::size_t>& vox, const LabelMap& liver,
                                         const LabelMap& excluded) {
  const Neighbourhood near(liver.geometry, vox, kRingOuterMm);
  std::vector<std::size_t> ring;
  for (std::size_t p : near.shell(kRingInnerMm, kRingOuterMm))
    if (liver.voxels[p] && !excluded.voxels[p]) ring.push_back(p);
  return ring;
}

double interior_mm(const Geometry& g) {
  return std::max({kInteriorMm, g.spacing[0], g.spacing[1]});
}

struct Thresholds {
  std::vector<double> relative;  // per time point: relative contrast needed
  std::vector<Robust> parenchyma;
};

void classify_mr(LesionResult& lesion, const std::vector<MrLesionTimePoint>& tps,
                 const Thresholds& th, bool hepatobiliary_agent, int pre, int arterial) {
  // Which measure belongs to time point i: the lesion's phases are in time-point order.
  std::vector<const LesionPhaseMeasure*> at(tps.size(), nullptr);
  for (std::size_t i = 0, k = 0; i < tps.size() && k < lesion.phases.size(); ++i) {
    if (lesion.phases[k].series_uid == tps[i].series_uid &&
        lesion.phases[k].mr_phase == mr_phase_name(tps[i].phase)) {
      if (lesion.phases[k].signal_to_liver) at[i] = &lesion.phases[k];
      ++k;
    }
  }
  const LesionPhaseMeasure* art = arterial >= 0 ? at[arterial] : nullptr;
  const bool aphe = art && (*art->signal_to_liver - 1.0 > th.relative[arterial] ||
                            art->enhancing_fraction >= kEnhancingPartFraction);
  // Washout: darker than the parenchyma in the portal venous time point, or the transitional
  // one with an extracellular agent (with a hepatobiliary agent the liver takes the agent up from
  // the transitional phase on, so that hypointensity there is not washout: LI-RADS v2018).
  std::string washout_where;
  double washout_ratio = 1.0;
  std::optional<double> later_ratio;
  for (std::size_t i = 0; i < tps.size(); ++i) {
    const bool counts = tps[i].phase == MrPhase::kPortalVenous ||
                        (tps[i].phase == MrPhase::kTransitional && !hepatobiliary_agent);
    if (!counts || !at[i]) continue;
    const double r = *at[i]->signal_to_liver;
    if (!later_ratio || r < *later_ratio) later_ratio = r;
    if (1.0 - r > th.relative[i] && r < washout_ratio) {
      washout_ratio = r;
      washout_where = phase_words(tps[i].phase);
    }
  }
  const bool washout = !washout_where.empty();
  // Every time point's ratio, for the evidence.
  std::ostringstream ratios;
  ratios << "signal over the surrounding liver: ";
  bool first = true;
  for (std::size_t i = 0; i < tps.size(); ++i) {
    if (!at[i]) continue;
    ratios << (first ? "" : ", ") << phase_words(tps[i].phase) << " "
           << ratio_text(*at[i]->signal_to_liver);
    first = false;
  }
  if (lesion.t2_to_liver) ratios << "; T2 " << ratio_text(*lesion.t2_to_liver);
  if (lesion.adc_to_liver) ratios << "; ADC " << ratio_text(*lesion.adc_to_liver);
  // Fluid: dark before contrast and not enhancing (its signal relative to muscle never rises
  // after contrast by more than the threshold), or very bright on T2 and not enhancing.
  const LesionPhaseMeasure* before = pre >= 0 ? at[pre] : nullptr;
  bool enhancing = false;
  if (before) {
    for (std::size_t i = 0; i < tps.size(); ++i) {
      if (static_cast<int>(i) == pre || !at[i]) continue;
      if (at[i]->mean_hu > before->mean_hu * (1.0 + th.relative[i])) enhancing = true;
    }
  }
  const bool t1_fluid = before && *before->signal_to_liver < kFluidT1MaxRatio && !enhancing;
  const bool t2_fluid = lesion.t2_to_liver && *lesion.t2_to_liver >= kFluidT2MinRatio;
  std::ostringstream why;
  if (!aphe && !enhancing && (lesion.t2_to_liver ? t2_fluid : t1_fluid) &&
      (before || lesion.t2_to_liver)) {
    lesion.type = LesionType::kCystLike;
    why << "fluid-like: no enhancement after contrast";
    if (before) why << ", " << ratio_text(*before->signal_to_liver) << " x liver before contrast";
    if (lesion.t2_to_liver) {
      why << ", T2 " << ratio_text(*lesion.t2_to_liver) << " x liver (marked)";
    } else {
      why << " (no T2 series: from T1 alone)";
    }
  } else if (aphe) {
    lesion.type = washout ? LesionType::kHypervascularWashout : LesionType::kHypervascularNoWashout;
    if (*art->signal_to_liver - 1.0 > th.relative[arterial]) {
      why << "arterial hyperenhancement " << ratio_text(*art->signal_to_liver) << " x liver";
    } else {
      why << "arterial hyperenhancement in part: " << std::fixed << std::setprecision(0)
          << 100.0 * art->enhancing_fraction << " % of the lesion (mean "
          << ratio_text(*art->signal_to_liver) << " x liver)";
    }
    if (washout) {
      why << ", washout in the " << washout_where << " time point (" << ratio_text(washout_ratio)
          << " x liver)";
    } else if (later_ratio) {
      why << ", no washout (" << ratio_text(*later_ratio) << " x liver later)";
    }
  } else if (art && washout) {
    lesion.type = LesionType::kHypovascular;
    why << "not hyperenhancing in the arterial time point (" << ratio_text(*art->signal_to_liver)
        << " x liver), hypointense in the " << washout_where << " time point ("
        << ratio_text(washout_ratio) << " x liver)";
  } else {
    lesion.type = LesionType::kUnknown;
    if (!art) {
      why << "no arterial time point: hypo- or hypervascularity cannot be told";
    } else if (lesion.t2_to_liver && t1_fluid && !t2_fluid) {
      why << "dark and not enhancing on T1 like fluid, but not marked on T2 ("
          << ratio_text(*lesion.t2_to_liver) << " x liver)";
    } else {
      why << "enhancement pattern not conclusive";
    }
  }
  // Diffusion, when an ADC map was measured: supporting words, not a type of its own.
  if (lesion.adc_to_liver && *lesion.adc_to_liver < kRestrictedAdcMaxRatio) {
    why << "; restricted diffusion (ADC " << ratio_text(*lesion.adc_to_liver) << " x liver)";
  } else if (lesion.adc_to_liver && *lesion.adc_to_liver >= kFreeAdcMinRatio) {
    why << "; free diffusion like fluid (ADC " << ratio_text(*lesion.adc_to_liver) << " x liver)";
  }
  why << " (" << ratios.str() << ")";
  lesion.type_evidence = why.str();
}

}  // namespace

LesionDetection detect_mr_lesions(const std::vector<MrLesionTimePoint>& tps, std::size_t reference,
                                  const LabelMap& liver_full, const std::optional<MrLesionT2>& t2,
                                  const std::optional<MrLesionT2>& adc) {
  LesionDetection out;
  out.labels = LabelMap(liver_full.geometry, 0);
  const Box box = bounding_box(liver_full, kRingOuterMm + 2.0);
  if (box.empty() || reference >= tps.size()) return out;
  const LabelMap liver = crop(liver_full, box);
  const Geometry& g = liver.geometry;
  const double voxel_ml = g.voxel_volume_ml();
  const std::size_t n = tps.size();
  // Each time point on the liver's box, raw and smoothed; no data (below 0) kept as -2000.
  std::vector<Volume> raw(n), smoothed(n);
  std::vector<bool> present(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    if (!tps[i].image || tps[i].image->empty()) continue;
    raw[i] = crop(*tps[i].image, box);
    for (float& v : raw[i].voxels)
      if (v < 0.0f) v = -2000.0f;
    smoothed[i] = gaussian_mm(raw[i], kSmoothingMm);
    for (std::size_t p = 0; p < raw[i].voxels.size(); ++p)
      if (raw[i].voxels[p] <= -1500.0f) smoothed[i].voxels[p] = -2000.0f;
    present[i] = true;
  }
  // Parenchyma statistics away from the surface, and each time point's threshold.
  const LabelMap deep = [&] {
    LabelMap d = erode_mm(liver, kParenchymaErosionMm);
    return count(d) > 0 ? d : liver;
  }();
  Thresholds th;
  th.relative.assign(n, kMinRelativeContrast);
  th.parenchyma.assign(n, Robust{});
  for (std::size_t i = 0; i < n; ++i) {
    if (!present[i]) continue;
    th.parenchyma[i] = robust_stats(smoothed[i], deep);
    if (th.parenchyma[i].median <= 0) {  // no parenchyma signal to compare with: not used
      present[i] = false;
      continue;
    }
    th.relative[i] = std::max(kMinRelativeContrast,
                              kNoiseFactor * th.parenchyma[i].sd / th.parenchyma[i].median);
  }
  auto usable = [&](MrPhase phase) {
    const int i = find_phase(tps, phase);
    return i >= 0 && present[static_cast<std::size_t>(i)] ? i : -1;
  };
  const int pre = usable(MrPhase::kPreContrast);
  const int arterial = usable(MrPhase::kArterial);
  const int portal = usable(MrPhase::kPortalVenous);
  const int transitional = usable(MrPhase::kTransitional);
  const int hepatobiliary = usable(MrPhase::kHepatobiliary);
  // The time point hypointense lesions are sought on; the one after the arterial time point
  // where vessels are still bright (blood pool) while hypervascular tumours have faded.
  const int hypo = portal >= 0 ? portal : transitional >= 0 ? transitional : hepatobiliary;
  const int later = portal >= 0 ? portal : transitional;
  if (!present[reference]) {
    out.method = "no lesion search: the reference time point has no parenchyma signal";
    return out;
  }
  if (hypo < 0 && arterial < 0) {
    out.method =
        "no lesion search: neither an arterial nor a portal venous, transitional or "
        "hepatobiliary time point";
    return out;
  }
  auto rel = [&](int i, std::size_t p) {
    return smoothed[i].voxels[p] / th.parenchyma[i].median - 1.0;
  };
  // Candidates: inside the liver less its surface band, hypointense on `hypo` or hyperintense
  // on the arterial time point (unless still brighter than the parenchyma later: a vessel).
  const LabelMap inner = erode_mm(liver, kSurfaceBandMm);
  LabelMap candidates(g, 0);
  for (std::size_t p = 0; p < candidates.voxels.size(); ++p) {
    if (!inner.voxels[p]) continue;
    bool c = false;
    if (hypo >= 0 && smoothed[hypo].voxels[p] > -1500.0f && rel(hypo, p) < -th.relative[hypo])
      c = true;
    if (arterial >= 0 && smoothed[arterial].voxels[p] > -1500.0f &&
        rel(arterial, p) > th.relative[arterial]) {
      const bool vessel =
          later >= 0 && smoothed[later].voxels[p] > -1500.0f && rel(later, p) > th.relative[later];
      c = c || !vessel;
    }
    candidates.voxels[p] = c;
  }
  candidates = dilate_mm(erode_mm(candidates, kOpeningMm), kOpeningMm);
  for (std::size_t p = 0; p < candidates.voxels.size(); ++p)
    candidates.voxels[p] &= inner.voxels[p];
  std::vector<std::size_t> sizes;
  const auto components = connected_components(candidates, &sizes);
  std::vector<std::vector<std::size_t>> members(sizes.size());
  for (std::size_t p = 0; p < components.voxels.size(); ++p)
    if (components.voxels[p]) members[components.voxels[p] - 1].push_back(p);
  auto compactness = [&](const std::vector<std::size_t>& vox) {
    LesionResult probe;
    measure_recist(g, vox, probe);
    const double d = probe.longest_diameter_mm;
    const double sphere_ml = M_PI / 6.0 * d * d * d / 1000.0;
    return sphere_ml > 0 ? vox.size() * voxel_ml / sphere_ml : 1.0;
  };
  // Stands out from the parenchyma right around it: hypointensity on `hypo` and
  // hyperintensity on the arterial time point, each in units of its threshold, add up to more
  // than one (as on CT).
  auto local_evidence = [&](const std::vector<std::size_t>& vox) {
    const auto ring = parenchyma_ring(vox, liver, candidates);
    if (ring.size() < kMinInteriorVoxels) return 2.0;
    double e = 0.0;
    if (hypo >= 0) {
      const double r = median_of(smoothed[hypo], ring);
      e += std::max(0.0, (r - median_of(smoothed[hypo], vox)) / r) / th.relative[hypo];
    }
    if (arterial >= 0) {
      const double r = median_of(smoothed[arterial], ring);
      e += std::max(0.0, (median_of(smoothed[arterial], vox) - r) / r) / th.relative[arterial];
    }
    return e;
  };
  // Share of the shell around a candidate that is liver within the threshold of the
  // parenchyma median on the time point hypointense lesions are sought on (else the arterial).
  const int ordinary_phase = hypo >= 0 ? hypo : arterial;
  auto parenchyma_fraction = [&](const std::vector<std::size_t>& vox) {
    const auto shell = Neighbourhood(g, vox, kShellOuterMm).shell(kShellInnerMm, kShellOuterMm);
    const Volume& v = smoothed[ordinary_phase];
    const double median = th.parenchyma[ordinary_phase].median;
    const double ordinary = th.relative[ordinary_phase] * median;
    std::size_t liver_like = 0;
    for (std::size_t p : shell)
      liver_like +=
          liver.voxels[p] && v.voxels[p] > -1500.0f && std::abs(v.voxels[p] - median) <= ordinary;
    return shell.empty() ? 0.0 : double(liver_like) / shell.size();
  };
  auto large_hypervascular = [&](const std::vector<std::size_t>& vox) {
    if (arterial < 0 || vox.size() * voxel_ml < kLargeLesionMl) return false;
    std::size_t bright = 0;
    for (std::size_t p : vox) bright += rel(arterial, p) > th.relative[arterial];
    return bright * 2 >= vox.size();
  };
  std::size_t tubes = 0, flat = 0, faint = 0, surrounded = 0;
  std::vector<std::vector<std::size_t>> kept;
  for (auto& vox : members) {
    if (vox.size() * voxel_ml < kMinLesionMl) continue;
    if (elongation(g, vox) > kMaxElongation) {
      ++tubes;
      continue;
    }
    if (compactness(vox) < kMinCompactness) {
      ++flat;
      continue;
    }
    if (!large_hypervascular(vox) && parenchyma_fraction(vox) < kMinSurroundingParenchyma) {
      ++surrounded;
      continue;
    }
    if (local_evidence(vox) <= 1.0) {
      ++faint;
      continue;
    }
    kept.push_back(std::move(vox));
  }
  // Boundary at half contrast, on the time point the lesion was found in: hypointense on `hypo`,
  // else hyperintense on the arterial time point (the others show vessels as dark as a lesion:
  // before contrast, the hepatic veins in the arterial and every vessel in the hepatobiliary time
  // point), within kEdgeReachMm of the candidate (at least the next voxel) and the liver; then
  // closed and its holes filled per slice (a tumour's mosaic and capsule are the tumour).
  LabelMap all_lesions(g, 0);
  for (auto& vox : kept) {
    const bool found_hypo =
        hypo >= 0 &&
        median_of(smoothed[hypo], vox) / th.parenchyma[hypo].median - 1.0 < -th.relative[hypo];
    const std::size_t best = static_cast<std::size_t>(found_hypo || arterial < 0 ? hypo : arterial);
    const double around = [&] {
      const auto ring = parenchyma_ring(vox, liver, candidates);
      return ring.size() >= kMinInteriorVoxels ? median_of(smoothed[best], ring)
                                               : th.parenchyma[best].median;
    }();
    auto grown =
        redraw_at_half_contrast(g, vox, raw[best], around, interior_mm(g), liver, all_lesions);
    for (std::size_t p : grown) all_lesions.voxels[p] = 1;
    vox = std::move(grown);
  }
  kept.erase(std::remove_if(kept.begin(), kept.end(),
                            [&](const auto& vox) {
                              const bool gone = vox.size() * voxel_ml < kMinLesionMl ||
                                                compactness(vox) < kMinCompactness;
                              flat += gone;
                              return gone;
                            }),
             kept.end());
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });

  // T2 and the ADC map on the liver's box, when there are: as stored, and smoothed (for the
  // parenchyma around a lesion). An ADC map holds 0 where it has no data.
  struct Supporting {
    Volume raw, smoothed;
  };
  auto supporting = [&](const std::optional<MrLesionT2>& s, float no_data_below) {
    Supporting out;
    if (!s || !s->image || s->image->empty()) return out;
    out.raw = crop(*s->image, box);
    for (float& v : out.raw.voxels)
      if (v < no_data_below) v = -2000.0f;
    out.smoothed = gaussian_mm(out.raw, kSmoothingMm);
    for (std::size_t p = 0; p < out.raw.voxels.size(); ++p)
      if (out.raw.voxels[p] <= -1500.0f) out.smoothed.voxels[p] = -2000.0f;
    return out;
  };
  const Supporting t2_map = supporting(t2, 0.0f), adc_map = supporting(adc, 1.0f);
  // The parenchyma a lesion is compared with: the liver without any lesion.
  const std::size_t nx = g.size[0], ny = g.size[1];
  // The agent is told by its hepatobiliary time point.
  const bool hepatobiliary_agent = find_phase(tps, MrPhase::kHepatobiliary) >= 0;
  for (std::size_t k = 0; k < kept.size() && k < 250; ++k) {
    const auto& vox = kept[k];
    LesionResult lesion;
    lesion.number = static_cast<int>(k + 1);
    lesion.volume_ml = vox.size() * voxel_ml;
    Vec3 c{0, 0, 0};
    for (std::size_t p : vox) {
      const Vec3 pt = g.index_to_point(p % nx, (p / nx) % ny, p / (nx * ny));
      for (int a = 0; a < 3; ++a) c[a] += pt[a];
    }
    for (int a = 0; a < 3; ++a) lesion.centroid_lps[a] = c[a] / vox.size();
    measure_recist(g, vox, lesion);
    lesion.axial_slice += box.lo[2];
    lesion.measurable = lesion.longest_diameter_mm >= 10.0;
    const Neighbourhood near(g, vox, kRingOuterMm);
    const auto interior = near.voxels(erode_mm(near.mask(), interior_mm(g)));
    const auto& measured = interior.size() >= kMinInteriorVoxels ? interior : vox;
    const auto ring = parenchyma_ring(vox, liver, all_lesions);
    for (std::size_t i = 0; i < n; ++i) {
      if (!present[i]) continue;
      LesionPhaseMeasure m;
      m.phase = ct_phase(tps[i].phase);
      m.mr_phase = mr_phase_name(tps[i].phase);
      m.series_uid = tps[i].series_uid;
      m.reference = i == reference;
      m.mean_hu = mean_of(raw[i], measured, &m.sd_hu);
      m.liver_hu = ring.size() >= kMinInteriorVoxels ? median_of(smoothed[i], ring)
                                                     : th.parenchyma[i].median;
      if (!std::isfinite(m.mean_hu) || !std::isfinite(m.liver_hu) || m.liver_hu <= 0) continue;
      m.enhancement = m.mean_hu - m.liver_hu;
      m.signal_to_liver = m.mean_hu / m.liver_hu;
      std::size_t bright = 0, seen = 0;
      for (std::size_t p : measured) {
        if (smoothed[i].voxels[p] <= -1500.0f) continue;
        ++seen;
        bright += smoothed[i].voxels[p] > m.liver_hu * (1.0 + th.relative[i]);
      }
      m.enhancing_fraction = seen ? double(bright) / seen : 0.0;
      lesion.phases.push_back(m);
    }
    lesion.mean_hu = mean_of(raw[reference], measured, &lesion.sd_hu);
    // The lesion's mean over the median of the parenchyma around it.
    auto ratio_to_liver = [&](const Supporting& map) -> std::optional<double> {
      if (map.raw.empty() || ring.size() < kMinInteriorVoxels) return std::nullopt;
      const double inside = mean_of(map.raw, measured);
      const double around = median_of(map.smoothed, ring);
      if (!std::isfinite(inside) || !std::isfinite(around) || around <= 0) return std::nullopt;
      return inside / around;
    };
    lesion.t2_to_liver = ratio_to_liver(t2_map);
    lesion.adc_to_liver = ratio_to_liver(adc_map);
    classify_mr(lesion, tps, th, hepatobiliary_agent, pre, arterial);
    for (std::size_t p : vox) {
      out.labels.at(p % nx + box.lo[0], (p / nx) % ny + box.lo[1], p / (nx * ny) + box.lo[2]) =
          static_cast<std::uint8_t>(lesion.number);
    }
    out.lesions.push_back(std::move(lesion));
  }

  std::ostringstream method;
  method << std::fixed << std::setprecision(0);
  method << "MR, relative signal only: ";
  if (hypo >= 0)
    method << "hypointense to the parenchyma median in the " << phase_words(tps[hypo].phase)
           << " time point by more than " << 100.0 * th.relative[hypo] << " %";
  if (arterial >= 0) {
    method << (hypo >= 0 ? ", or " : "") << "hyperintense in the arterial time point by more than "
           << 100.0 * th.relative[arterial] << " % (unless still brighter than the parenchyma "
           << (later >= 0 ? std::string("in the ") + phase_words(tps[later].phase) +
                                " time point: a vessel"
                          : std::string("later"))
           << ")";
  }
  method << " (each threshold the larger of " << 100.0 * kMinRelativeContrast << " % and "
         << kNoiseFactor
         << " robust SDs of the smoothed parenchyma over its median; signal bias-corrected, "
            "divided by paraspinal muscle, time points aligned onto the reference); tubes, flat "
            "candidates, candidates not surrounded by parenchyma and candidates not standing out "
            "from the parenchyma around them left out; boundary at half contrast; each lesion's "
            "signal over the surrounding "
            "parenchyma in every time point"
         << (t2_map.raw.empty() ? " (no T2 series)" : " and on T2")
         << (adc_map.raw.empty() ? "" : ", the ADC over the surrounding parenchyma's")
         << "; washout in the portal venous"
         << (hepatobiliary_agent ? " time point only (hepatobiliary agent)"
                                 : " or transitional time point")
         << "; candidates under " << std::setprecision(1) << kMinLesionMl << " mL ignored";
  out.method = method.str();
  if (tubes)
    out.notes.push_back(std::to_string(tubes) + " vessel-like (elongated) candidate(s) left out");
  if (surrounded)
    out.notes.push_back(std::to_string(surrounded) +
                        " candidate(s) not surrounded by parenchyma left out (gallbladder, hilum, "
                        "neighbouring organs)");
  if (flat) out.notes.push_back(std::to_string(flat) + " flat or branching candidate(s) left out");
  if (faint)
    out.notes.push_back(std::to_string(faint) +
                        " candidate(s) not standing out from the parenchyma around them left out");
  return out;
}

}  // namespace livernode::processing::detail

namespace livernode::processing {

MrLesionsResult find_mr_lesions(const MrDynamicResult& dynamic, const std::optional<MrT2Input>& t2,
                                const std::optional<MrAdcInput>& adc) {
  MrLesionsResult result;
  if (dynamic.reference < 0 || dynamic.liver_mask.empty()) return result;
  const std::size_t r = static_cast<std::size_t>(dynamic.reference);
  std::vector<detail::MrLesionTimePoint> tps;
  std::size_t reference = 0;
  for (std::size_t i = 0; i < dynamic.time_points.size(); ++i) {
    if (i >= dynamic.aligned.size() || dynamic.aligned[i].empty()) continue;
    if (i == r) reference = tps.size();
    tps.push_back(
        {dynamic.time_points[i].phase, dynamic.time_points[i].series_uid, &dynamic.aligned[i]});
  }
  // T2 and the ADC map aligned onto the reference time point (translation, mutual information:
  // the contrasts differ), around the liver; `what` names it in the note.
  auto align = [&](const MrT2Input& s, const char* what, const char* measured, Volume& aligned,
                   std::string& note_out) {
    const Volume& fixed = dynamic.normalised[r];
    const LabelMap region = detail::dilate_mm(dynamic.liver_mask, 20.0);
    const auto a = detail::align_phase(fixed, *s.volume, region, false);
    aligned = a.transform.resample(*s.volume, fixed.geometry, -2000.0f);
    std::ostringstream note;
    note << std::fixed << std::setprecision(1) << what << " " << s.series_uid
         << " aligned onto the reference time point (translation " << a.transform.translation()[0]
         << ", " << a.transform.translation()[1] << ", " << a.transform.translation()[2]
         << " mm): " << measured;
    note_out = note.str();
    return detail::MrLesionT2{s.series_uid, &aligned};
  };
  std::optional<detail::MrLesionT2> t2_input, adc_input;
  Volume t2_aligned, adc_aligned;
  if (t2 && t2->volume && !t2->volume->empty()) {
    t2_input = align(*t2, "T2 series", "each lesion's T2 signal over the surrounding parenchyma",
                     t2_aligned, result.t2_note);
  } else {
    result.t2_note = "no T2 series: lesions typed from the T1 dynamic run alone";
  }
  if (adc && adc->volume && !adc->volume->empty()) {
    std::ostringstream measured;
    measured << "each lesion's apparent diffusion coefficient over the surrounding parenchyma's "
                "(restricted diffusion below "
             << detail::kRestrictedAdcMaxRatio << " of it, free diffusion from "
             << detail::kFreeAdcMinRatio << " times; supporting words, not a type of its own)";
    adc_input = align(*adc, "ADC map", measured.str().c_str(), adc_aligned, result.adc_note);
  } else {
    result.adc_note = "no ADC map: diffusion not measured";
  }
  auto found = detail::detect_mr_lesions(tps, reference, dynamic.liver_mask, t2_input, adc_input);
  result.lesions = std::move(found.lesions);
  result.labels = std::move(found.labels);
  result.method = std::move(found.method);
  result.notes = std::move(found.notes);
  return result;
}

}  // namespace livernode::processing
