#pragma once
// Strict conversion of YAML scalars to numbers and booleans (no silent truncation: "30.5"
// is not an integer, "8080abc" is not a number).

#include <optional>
#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace livernode::config::detail {

std::optional<long long> parse_integer(std::string_view text);

// Finite decimal numbers only.
std::optional<double> parse_number(std::string_view text);

// true/false, yes/no, on/off in any letter case.
std::optional<bool> parse_boolean(std::string_view text);

// How a value is shown in "got ..." messages: 'abc', a mapping, a list, no value.
std::string describe(const YAML::Node& node);

// The shortest decimal text that reads back as the same double ("20", "0.1", "12.5").
std::string format_number(double value);

}  // namespace livernode::config::detail
