#include "phase_classifier.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

namespace livernode::processing::detail {

namespace {

// Aortic attenuation thresholds (HU) between phases; see CLINICAL.md's phase table.
constexpr double kUnenhancedAortaMax = 75.0;  // non-contrast aorta 35-50 HU, delayed 80-140
constexpr double kArterialAortaMin = 180.0;   // arterial aorta 250-400 HU
constexpr double kArterialAortaOverLiver = 100.0;
constexpr double kPortalAortaMin = 135.0;  // portal venous aorta 130-200, delayed 100-140
constexpr double kPortalLiverMin = 110.0;  // portal venous liver 100-130, delayed 80-100
// Late arterial: the portal vein enhances but stays well below the aorta ("aorta far brighter
// than the portal vein"); in the portal venous phase the portal vein is about as bright as or
// brighter than the aorta (portal vein 150-220, aorta 130-200), in the delayed phase they meet.
constexpr double kLateArterialAortaOverPortalVein = 30.0;
// With the header naming the arterial phase, an aorta this far above a liver that has not yet
// reached its portal venous attenuation suffices.
constexpr double kLateArterialAortaOverLiverWithHeader = 70.0;
// The portal vein this far above the aorta: portal venous rather than delayed.
constexpr double kPortalVeinOverAortaMin = 15.0;

double margin_confidence(double value, double threshold, double scale) {
  return std::clamp(0.5 + std::abs(value - threshold) / scale, 0.5, 0.98);
}

}  // namespace

Phase phase_from_header(const SeriesHints& hints) {
  // Underscores and dots separate words in descriptions such as "11_AP_Ax5.00mm".
  std::string d = hints.description;
  for (char& c : d)
    if (c == '_' || c == '.') c = ' ';
  auto has = [&](const char* pattern) {
    return std::regex_search(d, std::regex(pattern, std::regex::icase));
  };
  if (has(R"((non[ -_]?contrast|nativ|plain|pre[ -_]?contrast|unenhanced|\bNC\b|w/?o))")) {
    return Phase::kNonContrast;
  }
  if (has(R"((arter|\bAP\b|\bART\b|early|HAP|LAP))")) return Phase::kArterial;
  if (has(R"((portal|venous|\bPV\b|\bPVP\b|\bPP\b|\bVEN\b))")) return Phase::kPortalVenous;
  if (has(R"((delay|equil|\bEQP?\b|late|\bDEL\b|\bDP\b))")) return Phase::kDelayed;
  if (hints.seconds_after_injection) {
    const double t = *hints.seconds_after_injection;
    if (t < 50) return Phase::kArterial;
    if (t < 110) return Phase::kPortalVenous;
    return Phase::kDelayed;
  }
  return Phase::kUnknown;
}

PhaseEstimate classify_phase(const PhaseMeasurements& m, const SeriesHints& hints) {
  PhaseEstimate e;
  e.header_phase = phase_from_header(hints);
  e.aorta_hu = m.aorta_hu;
  e.liver_hu = m.liver_hu;
  e.portal_vein_hu = m.portal_vein_hu;
  std::ostringstream why;
  why.precision(0);
  why << std::fixed;
  if (!m.aorta_hu) {
    e.phase = e.header_phase;
    e.confidence = e.phase == Phase::kUnknown ? 0.0 : 0.3;
    e.evidence = "aorta not found in the image; phase taken from the header only";
    return e;
  }
  const double a = *m.aorta_hu;
  const double l = m.liver_hu.value_or(a);
  why << "aorta " << a << " HU";
  if (m.liver_hu) why << ", liver " << l << " HU";
  if (m.portal_vein_hu) why << ", portal vein " << *m.portal_vein_hu << " HU";
  if (a < kUnenhancedAortaMax) {
    e.phase = Phase::kNonContrast;
    e.confidence = margin_confidence(a, kUnenhancedAortaMax, 80.0);
    why << ": aorta unenhanced";
  } else if (a >= kArterialAortaMin && a - l >= kArterialAortaOverLiver) {
    e.phase = Phase::kArterial;
    e.confidence = std::min(margin_confidence(a, kArterialAortaMin, 150.0),
                            margin_confidence(a - l, kArterialAortaOverLiver, 100.0));
    why << ": aorta far brighter than the liver";
  } else if (a >= kPortalAortaMin && l < kPortalLiverMin &&
             ((m.portal_vein_hu && a - *m.portal_vein_hu >= kLateArterialAortaOverPortalVein) ||
              (e.header_phase == Phase::kArterial &&
               a - l >= kLateArterialAortaOverLiverWithHeader))) {
    e.phase = Phase::kArterial;
    e.confidence = m.portal_vein_hu ? margin_confidence(a - *m.portal_vein_hu,
                                                        kLateArterialAortaOverPortalVein, 60.0)
                                    : 0.6;
    why << ": late arterial, the portal vein enhancing but the aorta still far brighter and the "
           "liver below its portal venous attenuation";
  } else if (a >= kPortalAortaMin || (l >= kPortalLiverMin && a >= l) ||
             (m.portal_vein_hu && *m.portal_vein_hu - a >= kPortalVeinOverAortaMin)) {
    e.phase = Phase::kPortalVenous;
    e.confidence = std::max(margin_confidence(a, kPortalAortaMin, 60.0) - 0.1,
                            margin_confidence(l, kPortalLiverMin, 30.0) - 0.1);
    why << ": vessels and liver enhanced, aorta close to the liver";
  } else {
    e.phase = Phase::kDelayed;
    e.confidence = std::min(margin_confidence(a, kPortalAortaMin, 60.0),
                            margin_confidence(l, kPortalLiverMin, 30.0)) -
                   0.1;
    why << ": enhancement fading, vessels and liver converging";
  }
  if (e.header_phase != Phase::kUnknown) {
    if (e.header_phase == e.phase) {
      e.confidence = std::min(0.99, e.confidence + 0.1);
      why << "; the header agrees";
    } else {
      e.confidence = std::max(0.3, e.confidence - 0.15);
      why << "; the header suggests " << phase_name(e.header_phase);
    }
  }
  e.evidence = why.str();
  return e;
}

void reconcile_phases(std::vector<PhaseEstimate>& phases) {
  for (Phase same : {Phase::kPortalVenous, Phase::kDelayed}) {
    std::vector<PhaseEstimate*> group;
    for (auto& p : phases) {
      if (p.phase == same && p.aorta_hu) group.push_back(&p);
    }
    if (group.size() < 2) continue;
    std::sort(group.begin(), group.end(), [](const PhaseEstimate* x, const PhaseEstimate* y) {
      return *x->aorta_hu > *y->aorta_hu;
    });
    group.front()->phase = Phase::kPortalVenous;
    for (std::size_t i = 1; i < group.size(); ++i) {
      if (group[i]->phase != Phase::kDelayed) {
        group[i]->phase = Phase::kDelayed;
        group[i]->evidence += "; less enhanced than another series of the study, so the later one";
        group[i]->confidence = std::min(group[i]->confidence, 0.7);
      }
    }
  }
}

}  // namespace livernode::processing::detail
