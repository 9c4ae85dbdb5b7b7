#include "suggest.h"

#include <algorithm>

#include "text.h"

namespace livernode::config::detail {

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// adjacent characters each cost one.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::optional<std::string> closest_match(const std::string& word,
                                         const std::vector<std::string>& candidates,
                                         std::size_t max_distance) {
  const std::string needle = lower_case(word);
  const std::size_t tolerance =
      max_distance > 0 ? max_distance : std::max<std::size_t>(2, needle.size() / 3);

  std::optional<std::string> best;
  std::size_t best_distance = tolerance + 1;
  for (const auto& candidate : candidates) {
    const std::string hay = lower_case(candidate);
    std::size_t distance = edit_distance(needle, hay);
    const bool prefix =
        needle.size() >= 3 && (starts_with(hay, needle) || starts_with(needle, hay));
    if (prefix) distance = std::min(distance, tolerance);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace livernode::config::detail
