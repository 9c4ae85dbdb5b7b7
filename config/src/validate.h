#pragma once
// Checks that look at more than one value or at the file system: ordering of timers, port
// clashes, duplicate names, TLS files, storage paths, the external program.
// Run after paths are resolved.

#include "diagnostics.h"
#include "livernode/config/config.h"

namespace livernode::config::detail {

void validate_config(const Config& config, Diagnostics& diagnostics);

}  // namespace livernode::config::detail
