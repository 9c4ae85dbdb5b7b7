#include "map_reader.h"

#include <utility>

#include "scalar.h"

namespace livernode::config::detail {

Position position_of(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

Position position_of(const YAML::Node& node) { return position_of(node.Mark()); }

MapReader::MapReader(Diagnostics& diagnostics, std::string key_path)
    : diagnostics_(&diagnostics), key_path_(std::move(key_path)) {}

MapReader::MapReader(Diagnostics& diagnostics, const YAML::Node& node, std::string key_path)
    : MapReader(diagnostics, std::move(key_path)) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    diagnostics_->report(detail::position_of(node), key_path_,
                         "expected a mapping of keys to values, got " + describe(node));
    return;
  }
  for (const auto& pair : node) {
    const YAML::Node key_node = pair.first;
    if (!key_node.IsScalar()) {
      diagnostics_->report(detail::position_of(key_node), key_path_,
                           "expected a key name, got " + describe(key_node));
      continue;
    }
    const std::string key = key_node.Scalar();
    const auto first = std::find_if(entries_.begin(), entries_.end(),
                                    [&](const Entry& entry) { return entry.key == key; });
    if (first != entries_.end()) {
      const Position earlier = detail::position_of(first->key_node);
      diagnostics_->report(detail::position_of(key_node), child_path(key),
                           "duplicate key " + in_quotes(key) + " (first written at line " +
                               std::to_string(earlier.line) + "); remove one of them");
      continue;
    }
    entries_.push_back(Entry{key, key_node, pair.second, false});
  }
}

std::string MapReader::child_path(std::string_view key) const {
  return key_path_.empty() ? std::string(key) : key_path_ + "." + std::string(key);
}

const MapReader::Entry* MapReader::take(std::string_view key) {
  if (std::find(known_keys_.begin(), known_keys_.end(), key) == known_keys_.end()) {
    known_keys_.emplace_back(key);
  }
  for (auto& entry : entries_) {
    if (entry.key == key) {
      entry.used = true;
      diagnostics_->sources().record(child_path(key), position_of(entry));
      return &entry;
    }
  }
  return nullptr;
}

Position MapReader::position_of(const Entry& entry) const {
  // A scalar is shown where its value starts; anything else where its key is written.
  return entry.value.IsScalar() ? detail::position_of(entry.value)
                                : detail::position_of(entry.key_node);
}

void MapReader::report(const Entry& entry, std::string message) {
  diagnostics_->report(position_of(entry), child_path(entry.key), std::move(message));
}

bool MapReader::has(std::string_view key) { return take(key) != nullptr; }

bool MapReader::require(std::string_view key) {
  const Entry* entry = take(key);
  if (entry && !entry->value.IsNull()) return true;
  if (entry) {
    report(*entry, "has no value; this key is required");
  } else {
    diagnostics_->report(diagnostics_->sources().locate(key_path_), child_path(key),
                         "is missing; this key is required");
  }
  return false;
}

std::optional<std::string> MapReader::scalar_text(const Entry& entry, std::string_view expected) {
  if (entry.value.IsScalar()) return entry.value.Scalar();
  report(entry, "expected " + std::string(expected) + ", got " + describe(entry.value));
  return std::nullopt;
}

std::optional<std::vector<YAML::Node>> MapReader::sequence(const Entry& entry,
                                                           std::string_view expected) {
  if (entry.value.IsNull()) return std::vector<YAML::Node>{};
  if (!entry.value.IsSequence()) {
    std::string message = "expected " + std::string(expected) + ", got " + describe(entry.value);
    if (entry.value.IsScalar()) message += "; write it as [" + entry.value.Scalar() + "]";
    report(entry, std::move(message));
    return std::nullopt;
  }
  std::vector<YAML::Node> items;
  for (const auto& item : entry.value) items.push_back(item);
  return items;
}

bool MapReader::integer(std::string_view key, int& out, IntegerRange range) {
  const Entry* entry = take(key);
  if (!entry) return false;
  const std::string expected =
      "an integer " + std::to_string(range.min) + "-" + std::to_string(range.max);
  const auto word = scalar_text(*entry, expected);
  if (!word) return false;
  const auto value = parse_integer(*word);
  if (!value) {
    report(*entry, "expected an integer, got " + in_quotes(*word));
    return false;
  }
  if (*value < range.min || *value > range.max) {
    report(*entry, *word + " is out of range; expected " + expected);
    return false;
  }
  out = static_cast<int>(*value);
  return true;
}

bool MapReader::number(std::string_view key, double& out, NumberRange range) {
  const Entry* entry = take(key);
  if (!entry) return false;
  const std::string expected = range.min_exclusive ? "a number above " + format_number(range.min) +
                                                         " and at most " + format_number(range.max)
                                                   : "a number from " + format_number(range.min) +
                                                         " to " + format_number(range.max);
  const auto word = scalar_text(*entry, expected);
  if (!word) return false;
  const auto value = parse_number(*word);
  if (!value) {
    report(*entry, "expected a number, got " + in_quotes(*word));
    return false;
  }
  const bool below = range.min_exclusive ? *value <= range.min : *value < range.min;
  if (below || *value > range.max) {
    report(*entry, *word + " is out of range; expected " + expected);
    return false;
  }
  out = *value;
  return true;
}

bool MapReader::boolean(std::string_view key, bool& out) {
  const Entry* entry = take(key);
  if (!entry) return false;
  const auto word = scalar_text(*entry, "true or false");
  if (!word) return false;
  const auto value = parse_boolean(*word);
  if (!value) {
    report(*entry, "expected true or false, got " + in_quotes(*word));
    return false;
  }
  out = *value;
  return true;
}

bool MapReader::text(std::string_view key, std::string& out, const TextCheck& check) {
  const Entry* entry = take(key);
  if (!entry) return false;
  std::string value;
  if (!entry->value.IsNull()) {
    const auto word = scalar_text(*entry, "a text value");
    if (!word) return false;
    value = *word;
  }
  if (check) {
    if (auto problem = check(value)) {
      report(*entry, std::move(*problem));
      return false;
    }
  }
  out = std::move(value);
  return true;
}

bool MapReader::path(std::string_view key, std::filesystem::path& out) {
  std::string value;
  if (!text(key, value)) return false;
  out = value;
  return true;
}

bool MapReader::text_list(std::string_view key, std::vector<std::string>& out,
                          const TextCheck& check) {
  const Entry* entry = take(key);
  if (!entry) return false;
  const auto items = sequence(*entry, "a list");
  if (!items) return false;
  std::vector<std::string> values;
  bool valid = true;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const YAML::Node& item = (*items)[i];
    const std::string item_path = child_path(key) + "[" + std::to_string(i) + "]";
    diagnostics_->sources().record(item_path, detail::position_of(item));
    if (!item.IsScalar()) {
      diagnostics_->report(detail::position_of(item), item_path,
                           "expected a text value, got " + describe(item));
      valid = false;
      continue;
    }
    if (check) {
      if (auto problem = check(item.Scalar())) {
        diagnostics_->report(detail::position_of(item), item_path, std::move(*problem));
        valid = false;
        continue;
      }
    }
    values.push_back(item.Scalar());
  }
  if (valid) out = std::move(values);
  return valid;
}

bool MapReader::path_list(std::string_view key, std::vector<std::filesystem::path>& out) {
  std::vector<std::string> values;
  if (!text_list(key, values)) return false;
  out.assign(values.begin(), values.end());
  return true;
}

MapReader MapReader::section(std::string_view key) {
  const Entry* entry = take(key);
  return MapReader(*diagnostics_, entry ? entry->value : YAML::Node(), child_path(key));
}

std::optional<std::vector<MapReader>> MapReader::list_of_mappings(std::string_view key) {
  const Entry* entry = take(key);
  if (!entry) return std::nullopt;
  const auto items = sequence(*entry, "a list of mappings");
  if (!items) return std::nullopt;
  std::vector<MapReader> readers;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const YAML::Node& item = (*items)[i];
    const std::string item_path = child_path(key) + "[" + std::to_string(i) + "]";
    const Position position = detail::position_of(item);
    diagnostics_->sources().record(item_path, position);
    if (!item.IsMap()) {
      diagnostics_->report(position, item_path,
                           "expected a mapping of keys to values, got " + describe(item));
      continue;
    }
    readers.emplace_back(*diagnostics_, item, item_path);
  }
  return readers;
}

void MapReader::finish() {
  for (const auto& entry : entries_) {
    if (entry.used) continue;
    std::string message = "unknown key " + in_quotes(entry.key);
    if (const auto close = closest_match(entry.key, known_keys_)) {
      message += "; did you mean " + in_quotes(*close) + "?";
    } else {
      message += "; expected one of: " + joined(known_keys_);
    }
    diagnostics_->report(detail::position_of(entry.key_node), child_path(entry.key),
                         std::move(message));
  }
}

}  // namespace livernode::config::detail
