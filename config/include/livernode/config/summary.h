#pragma once
// A one-paragraph, human-readable summary of a configuration (for check-config and the
// start-up log line).

#include <string>

#include "livernode/config/config.h"

namespace livernode::config {

std::string summarize(const Config& config);

}  // namespace livernode::config
