#pragma once
#include <optional>
#include <string>

namespace livernode::processing {

enum class Phase { kUnknown, kNonContrast, kArterial, kPortalVenous, kDelayed };

// Stable machine names used in JSON and config: "non_contrast", "arterial", "portal_venous",
// "delayed", "unknown".
const char* phase_name(Phase phase);
std::optional<Phase> parse_phase(const std::string& name);

}  // namespace livernode::processing
