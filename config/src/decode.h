#pragma once
// The schema: which keys each section of the file has, their types and ranges, and the
// struct member each one sets.

#include <yaml-cpp/yaml.h>

#include "diagnostics.h"
#include "livernode/config/config.h"

namespace livernode::config::detail {

// Starts from the defaults and overrides what the document sets. Paths stay as written.
Config decode_config(const YAML::Node& document, Diagnostics& diagnostics);

}  // namespace livernode::config::detail
