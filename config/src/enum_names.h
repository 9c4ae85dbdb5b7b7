#pragma once
// The spelling of every enumerator in the configuration file, one table per enumeration.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "livernode/config/enums.h"

namespace livernode::config::detail {

template <class E>
struct EnumNames;

#define LIVERNODE_ENUM_NAMES(E, ...)                                         \
  template <>                                                                \
  struct EnumNames<E> {                                                      \
    static constexpr std::pair<E, std::string_view> table[] = {__VA_ARGS__}; \
  }

LIVERNODE_ENUM_NAMES(RuleAction, {RuleAction::analyse, "analyse"}, {RuleAction::ignore, "ignore"});
LIVERNODE_ENUM_NAMES(ResultKind, {ResultKind::seg, "seg"}, {ResultKind::sr, "sr"},
                     {ResultKind::summary, "summary"}, {ResultKind::pdf, "pdf"});
LIVERNODE_ENUM_NAMES(SegmentationBackend, {SegmentationBackend::builtin, "builtin"},
                     {SegmentationBackend::external, "external"});
LIVERNODE_ENUM_NAMES(ReferencePhase, {ReferencePhase::automatic, "auto"},
                     {ReferencePhase::portal_venous, "portal_venous"},
                     {ReferencePhase::delayed, "delayed"}, {ReferencePhase::arterial, "arterial"});
LIVERNODE_ENUM_NAMES(BsaFormula, {BsaFormula::mosteller, "mosteller"},
                     {BsaFormula::dubois, "dubois"});
LIVERNODE_ENUM_NAMES(EslvFormula, {EslvFormula::vauthey, "vauthey"}, {EslvFormula::urata, "urata"});
LIVERNODE_ENUM_NAMES(LiverCondition, {LiverCondition::normal, "normal"},
                     {LiverCondition::chemotherapy, "chemotherapy"},
                     {LiverCondition::cirrhosis, "cirrhosis"});
LIVERNODE_ENUM_NAMES(LogLevel, {LogLevel::trace, "trace"}, {LogLevel::debug, "debug"},
                     {LogLevel::info, "info"}, {LogLevel::warn, "warn"},
                     {LogLevel::error, "error"});
LIVERNODE_ENUM_NAMES(LogFormat, {LogFormat::text, "text"}, {LogFormat::json, "json"});
LIVERNODE_ENUM_NAMES(StateBackend, {StateBackend::sqlite, "sqlite"},
                     {StateBackend::postgresql, "postgresql"});

#undef LIVERNODE_ENUM_NAMES

template <class E>
std::string_view enum_name(E value) {
  for (const auto& [enumerator, name] : EnumNames<E>::table) {
    if (enumerator == value) return name;
  }
  return "?";
}

template <class E>
std::optional<E> parse_enum(std::string_view text) {
  for (const auto& [enumerator, name] : EnumNames<E>::table) {
    if (name == text) return enumerator;
  }
  return std::nullopt;
}

template <class E>
std::vector<std::string> enum_spellings() {
  std::vector<std::string> names;
  for (const auto& entry : EnumNames<E>::table) names.emplace_back(entry.second);
  return names;
}

}  // namespace livernode::config::detail
