#pragma once
// Analytic solids in patient LPS millimetres: each answers "is this point inside?" and knows an
// axis-aligned bounding box that callers test first, so that only nearby solids are evaluated.
#include <array>
#include <limits>
#include <vector>

#include "livernode/processing/image.h"

namespace livernode::phantom {

using Vec3 = processing::Vec3;

inline constexpr double kUnbounded = 1.0e5;  // "infinite" extent (mm) for solids without an end

// Axis-aligned box [lo, hi]; empty when lo > hi on any axis.
struct Box {
  Vec3 lo{kUnbounded, kUnbounded, kUnbounded};
  Vec3 hi{-kUnbounded, -kUnbounded, -kUnbounded};

  static Box around(const Vec3& centre, const Vec3& half_size);
  static Box everything();
  bool contains(const Vec3& p) const {
    return p[0] >= lo[0] && p[0] <= hi[0] && p[1] >= lo[1] && p[1] <= hi[1] && p[2] >= lo[2] &&
           p[2] <= hi[2];
  }
  bool overlaps(const Box& o) const;
  void include(const Vec3& p);
  void include(const Box& o);
  Box expanded(double margin) const;
  Box shifted(const Vec3& d) const;
};

class Solid {
 public:
  virtual ~Solid() = default;
  // Callers test bounds() first; contains() must still be correct for points outside it.
  virtual bool contains(const Vec3& p) const = 0;
  const Box& bounds() const { return bounds_; }

 protected:
  Box bounds_;
};

// Orthonormal local frame: axis[a] is local axis a in patient coordinates.
struct Frame {
  std::array<Vec3, 3> axis{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  // Rotation by `degrees` about the patient z axis (x towards y).
  static Frame about_z(double degrees);
  Vec3 to_local(const Vec3& d) const;
};

// Smooth radial modulation of a star-shaped solid: the boundary radius in unit direction u
// (local frame) is scaled by 1 + sum_i a[i] * Y_i(u) with fixed low-order polynomials Y_i,
// which makes lesions slightly irregular instead of perfect ellipsoids.
struct RadialRipple {
  std::array<double, 6> a{};
  double factor(const Vec3& unit) const;
  double max_factor() const;  // upper bound of factor() over all directions
};

// Ellipsoid with semi-axes along the frame's axes, optionally rippled.
class Ellipsoid final : public Solid {
 public:
  Ellipsoid(const Vec3& centre, const Vec3& semi_axes, const Frame& frame = {},
            const RadialRipple& ripple = {});
  bool contains(const Vec3& p) const override { return implicit(p) <= 0.0; }
  // Normalised radius minus the boundary radius: < 0 inside, 0 on the surface.
  double implicit(const Vec3& p) const;
  const Vec3& centre() const { return centre_; }
  const Vec3& semi_axes() const { return semi_; }

 private:
  Vec3 centre_, semi_;
  Frame frame_;
  RadialRipple ripple_;
  bool rippled_ = false;
};

// Union of capsules along a polyline whose radius varies linearly between vertices (vessels,
// ribs, bowel loops).
class Tube final : public Solid {
 public:
  Tube(const std::vector<Vec3>& points, const std::vector<double>& radii);
  bool contains(const Vec3& p) const override;

 private:
  struct Segment {
    Vec3 a, d;  // start and start-to-end vector
    double length2, r0, r1;
    Box box;
  };
  std::vector<Segment> segments_;
};

// Elliptic cylinder along z between z0 and z1 with semi-axes ax (x) and ay (y).
class EllipticColumn final : public Solid {
 public:
  EllipticColumn(double cx, double cy, double ax, double ay, double z0 = -kUnbounded,
                 double z1 = kUnbounded);
  bool contains(const Vec3& p) const override;

 private:
  double cx_, cy_, ax_, ay_, z0_, z1_;
};

// Polynomial smooth minimum of two implicit values (blends the union of two shapes over `k`).
double smooth_min(double a, double b, double k);

}  // namespace livernode::phantom
