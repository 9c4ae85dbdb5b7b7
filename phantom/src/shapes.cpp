#include "shapes.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace livernode::phantom {

namespace {
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
}  // namespace

Box Box::around(const Vec3& c, const Vec3& h) {
  return Box{{c[0] - h[0], c[1] - h[1], c[2] - h[2]}, {c[0] + h[0], c[1] + h[1], c[2] + h[2]}};
}

Box Box::everything() {
  return Box{{-kUnbounded, -kUnbounded, -kUnbounded}, {kUnbounded, kUnbounded, kUnbounded}};
}

bool Box::overlaps(const Box& o) const {
  for (int a = 0; a < 3; ++a) {
    if (hi[a] < o.lo[a] || o.hi[a] < lo[a]) return false;
  }
  return true;
}

void Box::include(const Vec3& p) {
  for (int a = 0; a < 3; ++a) {
    lo[a] = std::min(lo[a], p[a]);
    hi[a] = std::max(hi[a], p[a]);
  }
}

void Box::include(const Box& o) {
  include(o.lo);
  include(o.hi);
}

Box Box::expanded(double m) const {
  return Box{{lo[0] - m, lo[1] - m, lo[2] - m}, {hi[0] + m, hi[1] + m, hi[2] + m}};
}

Box Box::shifted(const Vec3& d) const {
  return Box{{lo[0] + d[0], lo[1] + d[1], lo[2] + d[2]},
             {hi[0] + d[0], hi[1] + d[1], hi[2] + d[2]}};
}

Frame Frame::about_z(double degrees) {
  const double r = degrees * 3.14159265358979323846 / 180.0;
  const double c = std::cos(r), s = std::sin(r);
  Frame f;
  f.axis = {{{c, s, 0}, {-s, c, 0}, {0, 0, 1}}};
  return f;
}

Vec3 Frame::to_local(const Vec3& d) const {
  return {dot(d, axis[0]), dot(d, axis[1]), dot(d, axis[2])};
}

double RadialRipple::factor(const Vec3& u) const {
  const double x = u[0], y = u[1], z = u[2];
  return 1.0 + a[0] * x * y + a[1] * y * z + a[2] * x * z + a[3] * (x * x - y * y) +
         a[4] * 0.5 * (3.0 * z * z - 1.0) + a[5] * 3.0 * x * y * z;
}

double RadialRipple::max_factor() const {
  double m = 1.0;
  for (double v : a) m += std::abs(v);  // every polynomial term is bounded by 1 on the sphere
  return m;
}

Ellipsoid::Ellipsoid(const Vec3& centre, const Vec3& semi_axes, const Frame& frame,
                     const RadialRipple& ripple)
    : centre_(centre), semi_(semi_axes), frame_(frame), ripple_(ripple) {
  for (double v : ripple.a) rippled_ = rippled_ || v != 0.0;
  if (semi_[0] <= 0 || semi_[1] <= 0 || semi_[2] <= 0) {
    throw std::invalid_argument("Ellipsoid: semi-axes must be positive");
  }
  // Bounding box of the (ripple-enlarged) oriented box around the ellipsoid.
  const double grow = ripple_.max_factor();
  Vec3 half{0, 0, 0};
  for (int w = 0; w < 3; ++w) {
    for (int a = 0; a < 3; ++a) half[w] += std::abs(frame_.axis[a][w]) * semi_[a] * grow;
  }
  bounds_ = Box::around(centre_, half);
}

double Ellipsoid::implicit(const Vec3& p) const {
  const Vec3 l = frame_.to_local(sub(p, centre_));
  const Vec3 q{l[0] / semi_[0], l[1] / semi_[1], l[2] / semi_[2]};
  const double r = std::sqrt(dot(q, q));
  if (!rippled_ || r == 0.0) return r - 1.0;
  return r - ripple_.factor({q[0] / r, q[1] / r, q[2] / r});
}

Tube::Tube(const std::vector<Vec3>& points, const std::vector<double>& radii) {
  if (points.size() < 2 || points.size() != radii.size()) {
    throw std::invalid_argument("Tube: needs >= 2 points and one radius per point");
  }
  for (std::size_t s = 0; s + 1 < points.size(); ++s) {
    Segment seg;
    seg.a = points[s];
    seg.d = sub(points[s + 1], points[s]);
    seg.length2 = std::max(dot(seg.d, seg.d), 1e-12);
    seg.r0 = radii[s];
    seg.r1 = radii[s + 1];
    seg.box.include(points[s]);
    seg.box.include(points[s + 1]);
    seg.box = seg.box.expanded(std::max(seg.r0, seg.r1));
    bounds_.include(seg.box);
    segments_.push_back(seg);
  }
}

bool Tube::contains(const Vec3& p) const {
  for (const Segment& s : segments_) {
    if (!s.box.contains(p)) continue;
    const Vec3 ap = sub(p, s.a);
    const double t = std::clamp(dot(ap, s.d) / s.length2, 0.0, 1.0);
    const Vec3 off{ap[0] - t * s.d[0], ap[1] - t * s.d[1], ap[2] - t * s.d[2]};
    const double r = s.r0 + t * (s.r1 - s.r0);
    if (dot(off, off) <= r * r) return true;
  }
  return false;
}

EllipticColumn::EllipticColumn(double cx, double cy, double ax, double ay, double z0, double z1)
    : cx_(cx), cy_(cy), ax_(ax), ay_(ay), z0_(z0), z1_(z1) {
  bounds_ = Box{{cx - ax, cy - ay, z0}, {cx + ax, cy + ay, z1}};
}

bool EllipticColumn::contains(const Vec3& p) const {
  if (p[2] < z0_ || p[2] > z1_) return false;
  const double u = (p[0] - cx_) / ax_, v = (p[1] - cy_) / ay_;
  return u * u + v * v <= 1.0;
}

double smooth_min(double a, double b, double k) {
  const double h = std::max(k - std::abs(a - b), 0.0) / k;
  return std::min(a, b) - h * h * k * 0.25;
}

}  // namespace livernode::phantom
