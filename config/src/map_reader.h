#pragma once
// Reads the keys of one YAML mapping into struct members, reporting every problem with its
// position: wrong types, out-of-range numbers, unknown enumerators, duplicate keys, and (on
// finish) the keys nobody asked for, with the closest known key as a suggestion.
//
// A member is only assigned when its value is valid; otherwise it keeps its default.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "enum_names.h"
#include "scalar.h"
#include "suggest.h"
#include "text.h"

namespace livernode::config::detail {

// Returns why a text value is unacceptable, or nullopt when it is fine.
using TextCheck = std::function<std::optional<std::string>(const std::string&)>;

struct IntegerRange {
  long long min;
  long long max;
};

struct NumberRange {
  double min;
  double max;
  bool min_exclusive = false;  // (min, max] instead of [min, max]
};

class MapReader {
 public:
  // node may be undefined or null (an empty mapping) or anything else (reported).
  MapReader(Diagnostics& diagnostics, const YAML::Node& node, std::string key_path);

  const std::string& key_path() const { return key_path_; }
  std::string child_path(std::string_view key) const;

  bool has(std::string_view key);

  // Reports the key as missing when it is absent or has no value.
  bool require(std::string_view key);

  // Each reader returns true when the key was present and its value was stored.
  bool integer(std::string_view key, int& out, IntegerRange range);
  bool number(std::string_view key, double& out, NumberRange range);
  bool boolean(std::string_view key, bool& out);
  bool text(std::string_view key, std::string& out, const TextCheck& check = {});
  bool path(std::string_view key, std::filesystem::path& out);
  bool text_list(std::string_view key, std::vector<std::string>& out, const TextCheck& check = {});
  bool path_list(std::string_view key, std::vector<std::filesystem::path>& out);

  template <class E>
  bool enumeration(std::string_view key, E& out);
  template <class E>
  bool enumeration_list(std::string_view key, std::vector<E>& out);

  // A nested mapping (empty when absent or null).
  MapReader section(std::string_view key);

  // The mapping elements of a list; nullopt when the key is absent or its value unusable.
  std::optional<std::vector<MapReader>> list_of_mappings(std::string_view key);

  // Reports the keys of this mapping that none of the calls above asked for.
  void finish();

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
    bool used = false;
  };

  MapReader(Diagnostics& diagnostics, std::string key_path);

  // The entry for key, marked used and its position recorded; nullptr when absent.
  const Entry* take(std::string_view key);
  Position position_of(const Entry& entry) const;
  void report(const Entry& entry, std::string message);

  // A scalar value as text; reports and returns nullopt for lists and mappings.
  std::optional<std::string> scalar_text(const Entry& entry, std::string_view expected);
  std::optional<std::vector<YAML::Node>> sequence(const Entry& entry, std::string_view expected);

  template <class E>
  std::optional<E> enumerator(const std::string& word, const std::string& key_path,
                              Position position);

  Diagnostics* diagnostics_;
  std::string key_path_;
  std::vector<Entry> entries_;
  std::vector<std::string> known_keys_;
};

// Position of a YAML node or mark (1-based), unknown for nodes without a mark.
Position position_of(const YAML::Node& node);
Position position_of(const YAML::Mark& mark);

template <class E>
std::optional<E> MapReader::enumerator(const std::string& word, const std::string& key_path,
                                       Position position) {
  if (const auto value = parse_enum<E>(word)) return value;
  const auto spellings = enum_spellings<E>();
  std::string message = in_quotes(word) + " is not one of: " + joined(spellings);
  if (const auto close = closest_match(word, spellings)) {
    message += "; did you mean " + in_quotes(*close) + "?";
  }
  diagnostics_->report(position, key_path, std::move(message));
  return std::nullopt;
}

template <class E>
bool MapReader::enumeration(std::string_view key, E& out) {
  const Entry* entry = take(key);
  if (!entry) return false;
  const auto word = scalar_text(*entry, "one of: " + joined(enum_spellings<E>()));
  if (!word) return false;
  const auto value = enumerator<E>(*word, child_path(key), position_of(*entry));
  if (!value) return false;
  out = *value;
  return true;
}

template <class E>
bool MapReader::enumeration_list(std::string_view key, std::vector<E>& out) {
  const Entry* entry = take(key);
  if (!entry) return false;
  const auto items = sequence(*entry, "a list of: " + joined(enum_spellings<E>()));
  if (!items) return false;
  std::vector<E> values;
  bool valid = true;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const YAML::Node& item = (*items)[i];
    const std::string item_path = child_path(key) + "[" + std::to_string(i) + "]";
    if (!item.IsScalar()) {
      diagnostics_->report(
          detail::position_of(item), item_path,
          "expected one of: " + joined(enum_spellings<E>()) + ", got " + describe(item));
      valid = false;
      continue;
    }
    const auto value = enumerator<E>(item.Scalar(), item_path, detail::position_of(item));
    if (!value) {
      valid = false;
    } else if (std::find(values.begin(), values.end(), *value) != values.end()) {
      diagnostics_->report(detail::position_of(item), item_path,
                           in_quotes(item.Scalar()) + " is listed twice");
      valid = false;
    } else {
      values.push_back(*value);
    }
  }
  if (valid) out = std::move(values);
  return valid;
}

}  // namespace livernode::config::detail
