#pragma once
// The median of a sample (the upper middle value for an even count), 0 for an empty one. The
// sample is taken by value: callers keep their order.
#include <algorithm>
#include <vector>

namespace livernode::processing::detail {

template <typename T>
double median(std::vector<T> v) {
  if (v.empty()) return 0.0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return static_cast<double>(*mid);
}

}  // namespace livernode::processing::detail
