#include "livernode/config/problem.h"

namespace livernode::config {

std::string format_problem(const Problem& problem, const std::string& file) {
  std::string text = file;
  if (problem.line > 0) {
    text += ':' + std::to_string(problem.line);
    if (problem.column > 0) text += ':' + std::to_string(problem.column);
  }
  text += ": ";
  if (!problem.key_path.empty()) text += problem.key_path + ": ";
  text += problem.message;
  return text;
}

}  // namespace livernode::config
