#include "diagnostics.h"

#include <algorithm>
#include <climits>
#include <utility>

namespace livernode::config::detail {

void Diagnostics::report(Position position, std::string key_path, std::string message) {
  problems_.push_back(
      Problem{position.line, position.column, std::move(key_path), std::move(message)});
}

void Diagnostics::report(std::string key_path, std::string message) {
  const Position position = sources_.locate(key_path);
  report(position, std::move(key_path), std::move(message));
}

void Diagnostics::report(std::string key_path, std::string message, const std::string& cause_path) {
  const Position position =
      sources_.written(key_path) ? sources_.locate(key_path) : sources_.locate(cause_path);
  report(position, std::move(key_path), std::move(message));
}

std::vector<Problem> Diagnostics::take_sorted() {
  const auto order = [](const Problem& problem) {
    return std::pair(problem.line > 0 ? problem.line : INT_MAX, problem.column);
  };
  std::stable_sort(problems_.begin(), problems_.end(),
                   [&](const Problem& a, const Problem& b) { return order(a) < order(b); });
  return std::move(problems_);
}

}  // namespace livernode::config::detail
