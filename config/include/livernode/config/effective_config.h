#pragma once
// The configuration in force, written back as YAML (all keys, defaults included).

#include <string>

#include "livernode/config/config.h"

namespace livernode::config {

// A YAML document that loads back to the same Config. With mask_secrets the HTTP token is
// written as "***" (for logs, the status page and check-config output).
std::string effective_config_yaml(const Config& config, bool mask_secrets);

}  // namespace livernode::config
