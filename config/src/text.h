#pragma once
// Small string helpers for messages.

#include <string>
#include <string_view>
#include <vector>

namespace livernode::config::detail {

// 'text' in single quotes, as values are shown in messages.
std::string in_quotes(std::string_view text);

// "a, b, c"
std::string joined(const std::vector<std::string>& words, std::string_view separator = ", ");

std::string trimmed(std::string_view text);

std::string lower_case(std::string_view text);

}  // namespace livernode::config::detail
