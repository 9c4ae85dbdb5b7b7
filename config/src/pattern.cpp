#include "livernode/config/pattern.h"

namespace livernode::config {

std::regex compile_pattern(const std::string& pattern) {
  return std::regex(pattern, std::regex::ECMAScript | std::regex::icase);
}

std::optional<std::string> pattern_error(const std::string& pattern) {
  try {
    compile_pattern(pattern);
  } catch (const std::regex_error& error) {
    return std::string(error.what());
  }
  return std::nullopt;
}

}  // namespace livernode::config
