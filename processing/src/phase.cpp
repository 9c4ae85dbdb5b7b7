#include "livernode/processing/phase.h"

namespace livernode::processing {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kNonContrast:
      return "non_contrast";
    case Phase::kArterial:
      return "arterial";
    case Phase::kPortalVenous:
      return "portal_venous";
    case Phase::kDelayed:
      return "delayed";
    case Phase::kUnknown:
      break;
  }
  return "unknown";
}

std::optional<Phase> parse_phase(const std::string& name) {
  for (Phase p : {Phase::kNonContrast, Phase::kArterial, Phase::kPortalVenous, Phase::kDelayed,
                  Phase::kUnknown}) {
    if (name == phase_name(p)) return p;
  }
  return std::nullopt;
}

}  // namespace livernode::processing
