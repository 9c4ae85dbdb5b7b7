#pragma once
// Numbers in the sentences the analysis writes into its reports.
#include <sstream>
#include <string>

namespace livernode::processing::detail {

// `v` with exactly `digits` decimals.
inline std::string fixed(double v, int digits) {
  std::ostringstream s;
  s.precision(digits);
  s << std::fixed << v;
  return s.str();
}

}  // namespace livernode::processing::detail
