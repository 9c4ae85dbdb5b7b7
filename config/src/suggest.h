#pragma once
// "Did you mean ...?": the known word closest to a misspelt one.

#include <optional>
#include <string>
#include <vector>

namespace livernode::config::detail {

// The candidate most like word (case-insensitive edit distance with transpositions, or a
// prefix of one another), or nullopt when none is within max_distance edits. The default
// max_distance (0) means a third of the word's length, at least 2.
std::optional<std::string> closest_match(const std::string& word,
                                         const std::vector<std::string>& candidates,
                                         std::size_t max_distance = 0);

}  // namespace livernode::config::detail
