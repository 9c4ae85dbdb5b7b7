#include "livernode/processing/mr_dynamic.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <exception>
#include <numeric>
#include <sstream>
#include <thread>

#include "abdomen_survey.h"
#include "mask_ops.h"
#include "median.h"
#include "mr_anatomy.h"
#include "mr_bias_field.h"
#include "mr_liver.h"
#include "phase_registration.h"
#include "text_format.h"

namespace livernode::processing {

const char* mr_phase_name(MrPhase phase) {
  switch (phase) {
    case MrPhase::kPreContrast:
      return "pre_contrast";
    case MrPhase::kArterial:
      return "arterial";
    case MrPhase::kPortalVenous:
      return "portal_venous";
    case MrPhase::kTransitional:
      return "transitional";
    case MrPhase::kHepatobiliary:
      return "hepatobiliary";
    case MrPhase::kUnknown:
      break;
  }
  return "unknown";
}

namespace {

using detail::fixed;

// The bias field is estimated on a 7.5 mm grid; the structures are measured on a 2.5 mm one.
constexpr double kBiasGridMm = 7.5;
constexpr double kMeasureGridMm = 2.5;

// Paraspinal muscle: beside the midline (2-6.5 cm), 1.5-7 cm in front of the skin of the back.
constexpr double kMuscleMinOffMidlineMm = 20.0, kMuscleMaxOffMidlineMm = 65.0;
constexpr double kMuscleMinDepthMm = 15.0, kMuscleMaxDepthMm = 70.0;

// Liver before contrast: the most common signal of the right upper quadrant (patient right of
// the midline by 1.5 cm, in front of the back muscles); its voxels within 15 % of it.
constexpr double kLiverBand = 0.15;

// Hepatic vessels: inside the liver's closed outline, darker than the parenchyma before contrast
// (blood is dark on T1 without contrast), enhancing at least 1.5 times (median over the
// post-contrast time points: cysts and bile do not, vessels do).
constexpr double kVesselMinEnhancement = 1.5;

// Aorta: the homogeneous disc (6 mm radius) of the strongest enhancement near the midline
// (blood is dark before contrast and brightest of all in the aorta after it), standing out from
// its ring (13-18 mm): enhancing at least twice, on the image of each voxel's highest
// post-contrast signal over its pre-contrast signal.
constexpr double kAortaMinEnhancement = 2.0;

// Phase rules (ratios of signal relative to muscle).
constexpr double kArterialOfPeakAorta = 0.8;    // aorta within 80 % of its peak
constexpr double kArterialVesselToAorta = 0.9;  // hepatic vessels still below the aorta
constexpr double kHepatobiliaryLiverToAorta = 2.0;
constexpr double kHepatobiliaryLiverToVessels = 1.5;
constexpr double kHepatobiliaryLiverEnhancement = 1.3;

struct Prepared {
  detail::BiasCorrection bias;
  Volume coarse;  // corrected, smoothed, kMeasureGridMm
  LabelMap body;
  std::optional<double> muscle;
  Volume normalised;  // coarse / muscle
};

std::optional<double> paraspinal_muscle(const Volume& c, const LabelMap& body) {
  const Geometry& g = c.geometry;
  const auto xs = detail::column_x(g), ys = detail::row_y(g);
  const auto extents = detail::slice_extents(body);
  std::vector<float> values;
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    const detail::SliceExtent& e = extents[k];
    if (!e.trunk) continue;
    for (std::size_t j = 0; j < g.size[1]; ++j) {
      const double depth = e.max_y - ys[j];
      if (depth < kMuscleMinDepthMm || depth > kMuscleMaxDepthMm) continue;
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        const double off = std::abs(xs[i] - e.centre_x());
        if (off < kMuscleMinOffMidlineMm || off > kMuscleMaxOffMidlineMm) continue;
        if (body.at(i, j, k)) values.push_back(c.at(i, j, k));
      }
    }
  }
  if (values.size() < 50) return std::nullopt;
  // The median, then again over the values near it: fat and bone in the box fall away.
  double m = detail::median(values);
  for (int pass = 0; pass < 3 && m > 0; ++pass) {
    std::vector<float> near;
    for (float v : values)
      if (v > 0.65 * m && v < 1.5 * m) near.push_back(v);
    if (near.size() < 50) break;
    m = detail::median(near);
  }
  if (!(m > 0)) return std::nullopt;
  return m;
}

Prepared prepare(const Volume& volume) {
  Prepared p;
  p.bias = detail::correct_bias_field(volume, kBiasGridMm);
  p.coarse = detail::coarse_smoothed(p.bias.corrected, kMeasureGridMm);
  p.body = detail::mr_body_mask(p.coarse);
  p.muscle = paraspinal_muscle(p.coarse, p.body);
  if (p.muscle) {
    p.normalised = p.coarse;
    for (float& v : p.normalised.voxels) v = static_cast<float>(v / *p.muscle);
  }
  return p;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      cur += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

MrPhase header_phase(const std::string& description) {
  const auto w = words(description);
  auto any = [&](std::initializer_list<const char*> list) {
    for (const char* s : list)
      if (std::find(w.begin(), w.end(), s) != w.end()) return true;
    return false;
  };
  if (any({"HBP", "HEPATOBILIARY", "20MIN"})) return MrPhase::kHepatobiliary;
  if (any({"TRANS", "TRANSITIONAL", "DELAY", "DELAYED", "EQ", "EQUILIBRIUM", "3MIN"}))
    return MrPhase::kTransitional;
  if (any({"PV", "PVP", "PORTAL", "VENOUS"})) return MrPhase::kPortalVenous;
  if (any({"ART", "ARTERIAL", "AP", "LAP", "EAP"})) return MrPhase::kArterial;
  if (any({"PRE", "NATIVE", "PRECONTRAST", "NC"})) return MrPhase::kPreContrast;
  return MrPhase::kUnknown;
}

// Liver voxels (coarse grid) on the first time point's normalised image.
LabelMap liver_voxels(const Volume& n, const LabelMap& body, double& mode_out) {
  const Geometry& g = n.geometry;
  const LabelMap quadrant = detail::right_upper_quadrant(body);
  LabelMap liver(g, 0);
  const auto found = detail::signal_mode(n, quadrant, 200);
  if (!found) return liver;
  const double mode = *found;
  mode_out = mode;
  LabelMap near(g, 0);
  for (std::size_t p = 0; p < near.voxels.size(); ++p)
    near.voxels[p] =
        quadrant.voxels[p] && std::abs(n.voxels[p] - mode) <= kLiverBand * mode ? 1 : 0;
  std::vector<std::size_t> sizes;
  const auto cc = detail::connected_components(near, &sizes);
  for (std::size_t p = 0; p < cc.voxels.size(); ++p) liver.voxels[p] = cc.voxels[p] == 1;
  return liver;
}

double masked_median(const Volume& v, const LabelMap& mask) {
  std::vector<float> values;
  for (std::size_t p = 0; p < mask.voxels.size(); ++p)
    if (mask.voxels[p]) values.push_back(v.voxels[p]);
  return detail::median(values);
}

struct AortaTrack {
  std::vector<std::array<std::size_t, 3>> centres;  // (i, j, k) on the coarse grid
};

// The mean of a disc of radius r_mm around (i, j) in slice k, and of the ring r_in..r_out.
struct DiscStats {
  double mean = 0, sd = 0, ring = 0;
  bool ok = false;
};
DiscStats disc_stats(const Volume& v, std::size_t ci, std::size_t cj, std::size_t k, double r_mm,
                     double ring_in_mm, double ring_out_mm) {
  const Geometry& g = v.geometry;
  const double px = g.spacing[0], py = g.spacing[1];
  const int reach_i = static_cast<int>(std::ceil(ring_out_mm / px));
  const int reach_j = static_cast<int>(std::ceil(ring_out_mm / py));
  double sum = 0, sum2 = 0, ring = 0;
  std::size_t n_in = 0, n_ring = 0;
  for (int dj = -reach_j; dj <= reach_j; ++dj)
    for (int di = -reach_i; di <= reach_i; ++di) {
      const long i = static_cast<long>(ci) + di, j = static_cast<long>(cj) + dj;
      if (i < 0 || j < 0 || i >= long(g.size[0]) || j >= long(g.size[1])) continue;
      const double r = std::hypot(di * px, dj * py);
      const double x = v.at(static_cast<std::size_t>(i), static_cast<std::size_t>(j), k);
      if (r <= r_mm) {
        sum += x;
        sum2 += x * x;
        ++n_in;
      } else if (r >= ring_in_mm && r <= ring_out_mm) {
        ring += x;
        ++n_ring;
      }
    }
  DiscStats s;
  if (n_in == 0 || n_ring == 0) return s;
  s.mean = sum / n_in;
  s.sd = std::sqrt(std::max(0.0, sum2 / n_in - s.mean * s.mean));
  s.ring = ring / n_ring;
  s.ok = true;
  return s;
}

AortaTrack find_aorta(const Volume& n, const LabelMap& body) {
  const Geometry& g = n.geometry;
  const auto xs = detail::column_x(g), ys = detail::row_y(g);
  const auto extents = detail::slice_extents(body);
  AortaTrack t;
  std::vector<double> cx, cy;
  std::vector<std::array<std::size_t, 3>> found;
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    const detail::SliceExtent& e = extents[k];
    if (!e.trunk) continue;
    const double h = e.max_y - e.min_y;
    double best = -1;
    std::array<std::size_t, 3> at{};
    for (std::size_t j = 0; j < g.size[1]; ++j) {
      // Between the front third of the trunk and the back muscles.
      if (ys[j] < e.centre_y() - 0.25 * h || e.max_y - ys[j] < kMuscleMaxDepthMm) continue;
      for (std::size_t i = 0; i < g.size[0]; ++i) {
        if (std::abs(xs[i] - e.centre_x()) > 45.0 || !body.at(i, j, k)) continue;
        if (n.at(i, j, k) < kAortaMinEnhancement) continue;
        const DiscStats s = disc_stats(n, i, j, k, 6.0, 13.0, 18.0);
        if (!s.ok || s.mean < kAortaMinEnhancement || s.sd > 0.2 * s.mean || s.ring > 0.8 * s.mean)
          continue;
        if (s.mean > best) {
          best = s.mean;
          at = {i, j, k};
        }
      }
    }
    if (best > 0) {
      found.push_back(at);
      cx.push_back(xs[at[0]]);
      cy.push_back(ys[at[1]]);
    }
  }
  if (found.size() < 3) return t;
  // One vessel along the slices: the centres near their median.
  const double mx = detail::median(cx), my = detail::median(cy);
  for (std::size_t s = 0; s < found.size(); ++s)
    if (std::hypot(cx[s] - mx, cy[s] - my) <= 15.0) t.centres.push_back(found[s]);
  if (t.centres.size() < 3) t.centres.clear();
  return t;
}

double aorta_signal(const Volume& n, const AortaTrack& t) {
  std::vector<double> means;
  for (const auto& c : t.centres)
    means.push_back(disc_stats(n, c[0], c[1], c[2], 6.0, 13.0, 18.0).mean);
  return detail::median(means);
}

}  // namespace

MrDynamicResult analyse_mr_dynamic(const std::vector<MrTimePointInput>& inputs) {
  MrDynamicResult result;
  const std::size_t n = inputs.size();
  result.time_points.resize(n);
  result.normalised.resize(n);
  if (n == 0) return result;

  // Time order: acquisition time, else the order given.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (inputs[a].seconds && inputs[b].seconds) return *inputs[a].seconds < *inputs[b].seconds;
    return false;
  });
  const std::size_t first = order.front();

  // Bias field and muscle reference of every time point, two at a time.
  std::vector<Prepared> prepared(n);
  {
    std::atomic<std::size_t> next{0};
    std::vector<std::exception_ptr> errors(n);
    auto worker = [&] {
      for (std::size_t i = next++; i < n; i = next++) {
        try {
          prepared[i] = prepare(*inputs[i].volume);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    std::thread second;
    if (n > 1) second = std::thread(worker);
    worker();
    if (second.joinable()) second.join();
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  for (std::size_t i = 0; i < n; ++i) {
    auto& tp = result.time_points[i];
    tp.series_uid = inputs[i].series_uid;
    tp.header_phase = header_phase(inputs[i].description);
    tp.bias_low = prepared[i].bias.field_low;
    tp.bias_high = prepared[i].bias.field_high;
    tp.muscle_signal = prepared[i].muscle;
    if (inputs[i].seconds && inputs[first].seconds)
      tp.seconds_after_first = *inputs[i].seconds - *inputs[first].seconds;
    if (prepared[i].muscle) {
      result.normalised[i] = prepared[i].bias.corrected;
      for (float& v : result.normalised[i].voxels) v = static_cast<float>(v / *prepared[i].muscle);
    } else {
      result.notes.push_back("no paraspinal muscle found in series " + inputs[i].series_uid +
                             ": its signal is not normalised and it is not measured");
    }
  }
  result.normalisation =
      "N4 bias-field correction (ITK N4BiasFieldCorrectionImageFilter, " + fixed(kBiasGridMm, 1) +
      " mm grid, inside the body), then every time point divided by the median signal of its "
      "paraspinal muscle (2-6.5 cm beside the midline, 1.5-7 cm in front of the skin of the "
      "back): the figures below are signal relative to muscle";

  if (!prepared[first].muscle) {
    result.method = "phases not decided: the first time point has no muscle reference";
    return result;
  }
  const Volume& ref = prepared[first].normalised;
  const LabelMap& body = prepared[first].body;

  // Every other time point aligned onto the first (translation: breath-holds differ).
  std::vector<Volume> aligned(n);
  aligned[first] = ref;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == first || !prepared[i].muscle) continue;
    const auto a = detail::align_phase(ref, prepared[i].normalised, body, false);
    aligned[i] = a.transform.resample(prepared[i].normalised, ref.geometry, 0.0f);
  }

  // The liver, its vessels and the aorta, found once and measured on every time point.
  double liver_mode = 0.0;
  const LabelMap liver = liver_voxels(ref, body, liver_mode);
  const bool have_liver = detail::count(liver) >= 50;
  if (!have_liver) result.notes.push_back("no liver-like region found in the right upper quadrant");
  LabelMap vessels(ref.geometry, 0);
  if (have_liver && n > 1) {
    const LabelMap closed = detail::erode_mm(detail::dilate_mm(liver, 7.5), 7.5);
    for (std::size_t p = 0; p < vessels.voxels.size(); ++p) {
      if (!closed.voxels[p] || liver.voxels[p]) continue;
      const double pre = ref.voxels[p];
      if (pre < 0.25 * liver_mode || pre > 0.75 * liver_mode) continue;
      std::vector<double> enh;
      for (std::size_t i = 0; i < n; ++i)
        if (i != first && !aligned[i].empty()) enh.push_back(aligned[i].voxels[p] / pre);
      if (!enh.empty() && detail::median(enh) >= kVesselMinEnhancement) vessels.voxels[p] = 1;
    }
  }
  const bool have_vessels = detail::count(vessels) >= 10;
  if (have_liver && n > 1 && !have_vessels)
    result.notes.push_back("no enhancing hepatic vessels found inside the liver");
  // The aorta, on each voxel's strongest enhancement over the first time point.
  AortaTrack aorta;
  {
    Volume strongest(ref.geometry, 0.0f);
    bool any = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (i == first || aligned[i].empty()) continue;
      any = true;
      for (std::size_t p = 0; p < strongest.voxels.size(); ++p) {
        if (!body.voxels[p] || ref.voxels[p] < 0.2f) continue;
        strongest.voxels[p] = std::max(strongest.voxels[p], aligned[i].voxels[p] / ref.voxels[p]);
      }
    }
    if (any) aorta = find_aorta(strongest, body);
    if (aorta.centres.empty())
      result.notes.push_back(n > 1 ? "the aorta was not found (no strongly enhancing disc near "
                                     "the midline)"
                                   : "a single time point: the aorta is found only by its "
                                     "enhancement");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (aligned[i].empty()) continue;
    auto& tp = result.time_points[i];
    if (have_liver) tp.liver_ratio = masked_median(aligned[i], liver);
    if (have_vessels) tp.vessel_ratio = masked_median(aligned[i], vessels);
    if (!aorta.centres.empty()) tp.aorta_ratio = aorta_signal(aligned[i], aorta);
  }

  // The pre-contrast time point: the first, when blood (aorta, else the liver) is darkest there.
  const auto& f = result.time_points[first];
  bool first_is_pre = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == first) continue;
    const auto& tp = result.time_points[i];
    if (f.aorta_ratio && tp.aorta_ratio)
      first_is_pre = first_is_pre && *f.aorta_ratio < 0.9 * *tp.aorta_ratio;
    else if (f.liver_ratio && tp.liver_ratio)
      first_is_pre = first_is_pre && *f.liver_ratio < 0.95 * *tp.liver_ratio;
  }
  if (n == 1) first_is_pre = f.header_phase == MrPhase::kPreContrast;
  if (first_is_pre) result.pre_contrast = static_cast<int>(first);
  auto enhancement = [](const std::optional<double>& v, const std::optional<double>& pre) {
    return v && pre && *pre > 0 ? std::optional<double>(*v / *pre) : std::nullopt;
  };
  if (first_is_pre) {
    for (auto& tp : result.time_points) {
      tp.aorta_enhancement = enhancement(tp.aorta_ratio, f.aorta_ratio);
      tp.vessel_enhancement = enhancement(tp.vessel_ratio, f.vessel_ratio);
      tp.liver_enhancement = enhancement(tp.liver_ratio, f.liver_ratio);
    }
  }

  // Phases in time order.
  double peak_aorta = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (i != first && result.time_points[i].aorta_ratio)
      peak_aorta = std::max(peak_aorta, *result.time_points[i].aorta_ratio);
  bool venous_seen = false;
  for (std::size_t oi = 0; oi < n; ++oi) {
    const std::size_t i = order[oi];
    auto& tp = result.time_points[i];
    std::ostringstream why;
    bool measured = true;
    if (i == first && first_is_pre) {
      tp.phase = MrPhase::kPreContrast;
      why << "first in time and blood darkest (aorta "
          << (tp.aorta_ratio ? fixed(*tp.aorta_ratio, 2) : std::string("not measured"))
          << " of muscle, lower than after contrast)";
      measured = tp.aorta_ratio.has_value() || n == 1;
    } else if (!tp.liver_ratio) {
      tp.phase = MrPhase::kUnknown;
      why << "liver not measured";
      measured = false;
    } else if (!first_is_pre) {
      tp.phase = MrPhase::kUnknown;
      why << "the first time point is not darker than the others: no pre-contrast reference";
      measured = false;
    } else if (!tp.aorta_ratio) {
      tp.phase = MrPhase::kUnknown;
      why << "the aorta was not found: its enhancement decides the phase";
      measured = false;
    } else {
      const double l = *tp.liver_ratio;
      const std::optional<double> a = tp.aorta_ratio, v = tp.vessel_ratio;
      const bool hepatobiliary =
          a && l >= kHepatobiliaryLiverToAorta * *a &&
          (!v || l >= kHepatobiliaryLiverToVessels * *v) &&
          (!tp.liver_enhancement || *tp.liver_enhancement >= kHepatobiliaryLiverEnhancement);
      const bool arterial = a && !venous_seen && *a >= kArterialOfPeakAorta * peak_aorta &&
                            (!v || *v < kArterialVesselToAorta * *a);
      if (hepatobiliary) {
        tp.phase = MrPhase::kHepatobiliary;
        why << "liver brighter than the blood: liver/aorta " << fixed(l / *a, 2);
        if (v) why << ", liver/hepatic vessels " << fixed(l / *v, 2);
      } else if (arterial) {
        tp.phase = MrPhase::kArterial;
        why << "aorta at " << fixed(100.0 * *a / peak_aorta, 0)
            << " % of its peak, hepatic vessels "
            << (v ? fixed(*v / *a, 2) + " of the aorta" : std::string("not measured"));
      } else if (!venous_seen) {
        tp.phase = MrPhase::kPortalVenous;
        venous_seen = true;
        why << "first time point after the arterial peak";
        if (a) why << " (aorta " << fixed(100.0 * *a / peak_aorta, 0) << " % of its peak)";
        if (v && a) why << ", hepatic vessels " << fixed(*v / *a, 2) << " of the aorta";
      } else {
        tp.phase = MrPhase::kTransitional;
        why << "after the portal venous time point, not hepatobiliary";
        if (a) why << " (liver/aorta " << fixed(l / *a, 2) << ", under 2)";
      }
      measured = a.has_value();
    }
    if (tp.liver_enhancement && tp.phase != MrPhase::kPreContrast)
      why << "; liver enhancement " << fixed(*tp.liver_enhancement, 2) << "x";
    if (tp.seconds_after_first)
      why << "; " << fixed(*tp.seconds_after_first, 0) << " s after the first";
    double confidence = measured ? 0.8 : 0.4;
    if (tp.header_phase != MrPhase::kUnknown) {
      if (tp.header_phase == tp.phase) {
        confidence += 0.1;
        why << "; the description agrees";
      } else {
        confidence -= 0.2;
        why << "; the description suggests " << mr_phase_name(tp.header_phase);
      }
    }
    tp.confidence = std::clamp(confidence, 0.2, 0.95);
    tp.evidence = why.str();
  }
  result.method =
      "phase of each time point from the images: time order, signal of the aorta, the hepatic "
      "vessels and the liver relative to paraspinal muscle and to the pre-contrast time point "
      "(arterial: aorta within 80 % of its peak and above the hepatic vessels; portal venous: the "
      "first time point after that; hepatobiliary: liver at least twice the aorta and 1.5 times "
      "the hepatic vessels; transitional: the later ones); the series description only as "
      "supporting evidence";

  // The liver, on the time point that shows it best.
  for (MrPhase want : {MrPhase::kHepatobiliary, MrPhase::kPortalVenous, MrPhase::kTransitional}) {
    for (std::size_t i = 0; i < n && result.reference < 0; ++i)
      if (result.time_points[i].phase == want && !result.normalised[i].empty())
        result.reference = static_cast<int>(i);
  }
  if (result.reference >= 0) {
    const std::size_t r = static_cast<std::size_t>(result.reference);
    std::vector<Volume> supporting;
    result.aligned.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!prepared[i].muscle) continue;
      if (i == r) {
        result.aligned[i] = result.normalised[i];
        continue;
      }
      const auto a = detail::align_phase(prepared[r].normalised, prepared[i].normalised,
                                         prepared[r].body, false);
      supporting.push_back(
          a.transform.resample(prepared[i].normalised, prepared[r].normalised.geometry, 0.0f));
      // The same translation on the full grid, for the lesions (no data outside: -2000).
      result.aligned[i] =
          a.transform.resample(result.normalised[i], result.normalised[r].geometry, -2000.0f);
    }
    auto liver = detail::segment_liver_mr(result.normalised[r], prepared[r].normalised, supporting);
    if (liver.failure.empty()) {
      result.liver_ml =
          static_cast<double>(detail::count(liver.mask)) * liver.mask.geometry.voxel_volume_ml();
      result.liver_mask = std::move(liver.mask);
      result.liver_method = std::move(liver.method);
    } else {
      result.liver_failure = std::move(liver.failure);
    }
  } else {
    result.liver_failure =
        "no hepatobiliary, portal venous or transitional time point recognised to segment the "
        "liver on";
  }
  return result;
}

}  // namespace livernode::processing
