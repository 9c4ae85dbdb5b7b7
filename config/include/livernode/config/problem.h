#pragma once
// One thing wrong with a configuration, located in the file it came from.

#include <string>

namespace livernode::config {

struct Problem {
  int line = 0;          // 1-based; 0 when the problem has no place in the file
  int column = 0;        // 1-based; 0 when unknown
  std::string key_path;  // e.g. "node.port" or "destinations[1].host"; empty for syntax errors
  std::string message;   // a sentence saying what is wrong and what is expected
};

// "config.yaml:12:3: node.port: 70000 is out of range; expected an integer 1-65535".
// The position and the key path are left out when unknown.
std::string format_problem(const Problem& problem, const std::string& file);

}  // namespace livernode::config
