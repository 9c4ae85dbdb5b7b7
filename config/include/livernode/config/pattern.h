#pragma once
// The regular-expression flavour of routing patterns, shared by validation and matching so
// that a pattern that validates is exactly the pattern that runs.
//
// ECMAScript syntax, case-insensitive; use std::regex_search (matches anywhere in the value
// unless anchored with ^ and $).

#include <optional>
#include <regex>
#include <string>

namespace livernode::config {

// Throws std::regex_error for an invalid pattern; patterns from a Config that loaded without
// problems always compile.
std::regex compile_pattern(const std::string& pattern);

// Why the pattern does not compile, or nullopt when it does.
std::optional<std::string> pattern_error(const std::string& pattern);

}  // namespace livernode::config
