#pragma once
#include <optional>
#include <vector>

#include "livernode/processing/analysis.h"

namespace livernode::processing::detail {

// Measured attenuation of the landmarks of one series.
struct PhaseMeasurements {
  std::optional<double> aorta_hu;
  std::optional<double> liver_hu;
  std::optional<double> portal_vein_hu;
};

// The phase suggested by the header alone (description words, contrast tags, timing).
Phase phase_from_header(const SeriesHints& hints);

// Decides the phase of one series from its measurements; the header is supporting evidence.
PhaseEstimate classify_phase(const PhaseMeasurements& m, const SeriesHints& hints);

// Makes the phases of one examination consistent: of two enhanced non-arterial series with the
// same label, the one with less aortic enhancement is the later (delayed) one.
void reconcile_phases(std::vector<PhaseEstimate>& phases);

}  // namespace livernode::processing::detail
