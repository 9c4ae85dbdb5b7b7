#include "mr_synthesis.h"

#include <algorithm>
#include <cmath>

namespace livernode::phantom {

namespace {

constexpr double kBodyHalfMm[3] = {170.0, 125.0, 150.0};

}  // namespace

double BiasField::at(const Vec3& p) const {
  const double x = (p[0] - centre[0]) / kBodyHalfMm[0];
  const double y = (p[1] - centre[1]) / kBodyHalfMm[1];
  const double z = (p[2] - centre[2]) / kBodyHalfMm[2];
  const double e = c[0] * x + c[1] * y + c[2] * z + c[3] * x * x + c[4] * y * y + c[5] * z * z +
                   c[6] * x * y + c[7] * x * z + c[8] * y * z;
  return std::clamp(std::exp(e), 0.65, 1.5);
}

BiasField BiasField::from_key(std::uint64_t key, const processing::Geometry& g, double amplitude) {
  BiasField b;
  const processing::Vec3 lo = g.index_to_point(0.0, 0.0, 0.0);
  const processing::Vec3 hi =
      g.index_to_point(static_cast<double>(g.size[0] - 1), static_cast<double>(g.size[1] - 1),
                       static_cast<double>(g.size[2] - 1));
  for (int a = 0; a < 3; ++a) b.centre[a] = 0.5 * (lo[a] + hi[a]);
  Random r(key);
  // Linear terms up to +-amplitude at the body's edge, quadratic ones half that; the anterior
  // and posterior surfaces nearer the coil elements are a little brighter (positive y^2).
  for (int i = 0; i < 3; ++i) b.c[i] = amplitude * (2.0 * r.uniform() - 1.0);
  for (int i = 3; i < 9; ++i) b.c[i] = 0.5 * amplitude * (2.0 * r.uniform() - 1.0);
  b.c[4] = 0.5 * amplitude * (0.5 + 0.5 * r.uniform());
  return b;
}

double series_scale_from_key(std::uint64_t key) {
  Random r(key);
  return 0.6 * std::pow(5.0, r.uniform());
}

void mr_stored_slice(const std::vector<double>& mean, const processing::Geometry& g, std::size_t k,
                     double scale, const BiasField& bias, double sigma, Random& noise,
                     std::vector<std::uint16_t>& out) {
  out.resize(mean.size());
  const double s = sigma * scale;
  for (std::size_t n = 0; n < mean.size(); ++n) {
    const Vec3 p = g.index_to_point(static_cast<double>(n % g.size[0]),
                                    static_cast<double>(n / g.size[0]), static_cast<double>(k));
    const double real = scale * bias.at(p) * mean[n] + s * noise.gaussian();
    const double imaginary = s * noise.gaussian();
    const double magnitude = std::sqrt(real * real + imaginary * imaginary);
    out[n] = static_cast<std::uint16_t>(std::lround(std::min(magnitude, kMrMaxStored)));
  }
}

}  // namespace livernode::phantom
