#include "livernode/study/visits.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace livernode::study {

namespace {

bool share_any(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& x) {
    return std::find(b.begin(), b.end(), x) != b.end();
  });
}

}  // namespace

std::optional<double> seconds_of_day(std::string tm) {
  tm.erase(std::remove(tm.begin(), tm.end(), ':'), tm.end());
  while (!tm.empty() && tm.back() == ' ') tm.pop_back();
  if (tm.size() < 4) return std::nullopt;
  for (std::size_t i = 0; i < std::min<std::size_t>(tm.size(), 6); ++i)
    if (!std::isdigit(static_cast<unsigned char>(tm[i]))) return std::nullopt;
  const double h = std::stod(tm.substr(0, 2)), m = std::stod(tm.substr(2, 2));
  double s = 0;
  if (tm.size() >= 6) {
    try {
      s = std::stod(tm.substr(4));
    } catch (const std::exception&) {
      s = std::stod(tm.substr(4, 2));
    }
  }
  if (h > 23 || m > 59 || s >= 61) return std::nullopt;
  return h * 3600 + m * 60 + s;
}

bool same_visit(const VisitFacts& a, const VisitFacts& b, double window_seconds) {
  if (share_any(a.frames_of_reference, b.frames_of_reference)) return true;
  if (!share_any(a.study_dates, b.study_dates)) return false;
  for (double x : a.acquisition_seconds)
    for (double y : b.acquisition_seconds)
      if (std::abs(x - y) <= window_seconds) return true;
  return false;
}

}  // namespace livernode::study
