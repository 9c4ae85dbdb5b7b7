#pragma once
// GET /metrics: the node's counters and the state store's counts in the Prometheus text format.
#include <string>

#include "livernode/node/runtime.h"

namespace livernode::node {

std::string metrics_text(Runtime& rt);

}  // namespace livernode::node
