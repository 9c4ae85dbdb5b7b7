#include "spine.h"

#include <cmath>

namespace livernode::phantom {

namespace {
constexpr double kPeriod = 32.0;      // mm per vertebra + disc
constexpr double kBodyHeight = 26.0;  // vertebral body; the remaining 6 mm are disc
constexpr double kPhaseOrigin = 7.0;  // z of a vertebral body's lower end plate (mod period)

bool in_ellipse(double x, double y, double cx, double cy, double ax, double ay) {
  const double u = (x - cx) / ax, v = (y - cy) / ay;
  return u * u + v * v <= 1.0;
}
bool in_body(double x, double y) { return in_ellipse(x, y, 0.0, 45.0, 22.0, 18.0); }
}  // namespace

Spine::Spine(Part part) : part_(part) {
  bounds_ = part == Part::Bone ? Box{{-42.0, 27.0, -kUnbounded}, {42.0, 109.0, kUnbounded}}
                               : Box{{-22.0, 27.0, -kUnbounded}, {22.0, 63.0, kUnbounded}};
}

EllipticColumn Spine::canal() { return EllipticColumn(0.0, 76.0, 9.0, 8.0); }

bool Spine::contains(const Vec3& p) const {
  const double x = p[0], y = p[1];
  double phase = std::fmod(p[2] - kPhaseOrigin, kPeriod);
  if (phase < 0) phase += kPeriod;
  if (part_ == Part::Disc) return phase >= kBodyHeight && in_body(x, y);
  if (in_body(x, y)) return phase < kBodyHeight;
  if (phase < 2.0 || phase > kBodyHeight - 2.0) return false;  // arch a bit lower than the body
  const bool arch = in_ellipse(x, y, 0.0, 78.0, 17.0, 15.0);
  const bool transverse = std::abs(x) >= 10.0 && std::abs(x) <= 42.0 && std::abs(y - 72.0) <= 6.0;
  const bool spinous = std::abs(x) <= 4.0 && y >= 88.0 && y <= 109.0;
  return arch || transverse || spinous;
}

}  // namespace livernode::phantom
