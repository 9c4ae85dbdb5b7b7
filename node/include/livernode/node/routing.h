#pragma once
// Routing rules compiled once: which series are analysed (config.routing, first match wins).
#include <regex>
#include <string>
#include <vector>

#include "livernode/config/config.h"
#include "livernode/node/state_store.h"

namespace livernode::node {

struct SeriesFacts {
  std::string modality;
  std::string calling_ae;
  std::string body_part;
  std::string description;
};

struct RouteDecision {
  SeriesAction action = SeriesAction::unrouted;
  std::string rule;  // empty when no rule matched
};

class Router {
 public:
  explicit Router(const config::RoutingConfig& routing);
  RouteDecision route(const SeriesFacts& facts) const;

 private:
  struct CompiledRule {
    config::RoutingRule rule;
    std::vector<std::regex> body_parts;
    std::vector<std::regex> descriptions;
  };
  std::vector<CompiledRule> rules_;
};

}  // namespace livernode::node
