#include "livernode/node/ingest/routing.h"

#include <algorithm>

#include "livernode/config/pattern.h"

namespace livernode::node {

namespace {

std::string trimmed_upper(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

bool any_regex(const std::vector<std::regex>& patterns, const std::string& value) {
  if (patterns.empty()) return true;
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::regex& r) { return std::regex_search(value, r); });
}

bool in_list(const std::vector<std::string>& list, const std::string& value) {
  if (list.empty()) return true;
  const std::string v = trimmed_upper(value);
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return trimmed_upper(s) == v; });
}

}  // namespace

Router::Router(const config::RoutingConfig& routing) {
  for (const auto& rule : routing.rules) {
    CompiledRule c{rule, {}, {}};
    for (const auto& p : rule.body_part_patterns)
      c.body_parts.push_back(config::compile_pattern(p));
    for (const auto& p : rule.series_description_patterns)
      c.descriptions.push_back(config::compile_pattern(p));
    rules_.push_back(std::move(c));
  }
}

RouteDecision Router::route(const SeriesFacts& facts) const {
  for (const auto& c : rules_) {
    if (!in_list(c.rule.modalities, facts.modality)) continue;
    if (!in_list(c.rule.calling_ae_titles, facts.calling_ae)) continue;
    if (!any_regex(c.body_parts, facts.body_part)) continue;
    if (!any_regex(c.descriptions, facts.description)) continue;
    return {
        c.rule.action == config::RuleAction::analyse ? SeriesAction::analyse : SeriesAction::ignore,
        c.rule.name};
  }
  return {};
}

}  // namespace livernode::node
