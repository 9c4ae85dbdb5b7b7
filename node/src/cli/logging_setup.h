#pragma once
// The node's log: spdlog to standard error or logging.file, as text or JSON lines, at
// logging.level; DCMTK's own messages go into it in the same format.
#include "livernode/config/config.h"

namespace livernode::node {

// Makes the default logger (again, on SIGHUP) from `logging`.
void setup_logging(const config::LoggingConfig& logging);

}  // namespace livernode::node
