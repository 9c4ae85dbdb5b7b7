#pragma once
// Turns the relative MR signal of a slice (tissue_synthesis.h's partial-volume mean of an
// mr_signal.h table) into stored values: times the series' arbitrary scale and its coil bias
// field, plus Rician noise, rounded and clamped to 0..4095 (12 bits, no rescale).
#include <array>
#include <cstdint>
#include <vector>

#include "livernode/processing/image.h"
#include "random.h"
#include "shapes.h"

namespace livernode::phantom {

inline constexpr double kMrMaxStored = 4095.0;

// A smooth multiplicative receive-coil bias: exp of a second-order polynomial in coordinates
// normalised to the body (x / 170 mm, y / 125 mm, z / 150 mm about the grid's centre), fixed to
// the scanner (it does not follow the anatomy's motion), clamped to 0.65..1.5.
struct BiasField {
  Vec3 centre{};
  std::array<double, 9> c{};  // x, y, z, x^2, y^2, z^2, xy, xz, yz

  double at(const Vec3& p) const;
  // Coefficients from `key` giving about +-20-30 % over the body; amplitude 0 = no bias.
  static BiasField from_key(std::uint64_t key, const processing::Geometry& g, double amplitude);
};

// Global scale of a series' stored values from `key`: 0.6..3 (log-uniform).
double series_scale_from_key(std::uint64_t key);

// Slice k: stored = |scale * bias(p) * mean + sigma * scale * (n1 + i n2)| with n1, n2 ~ N(0,1)
// from `noise` (Rician magnitude noise), rounded and clamped to 0..4095.
void mr_stored_slice(const std::vector<double>& mean, const processing::Geometry& g, std::size_t k,
                     double scale, const BiasField& bias, double sigma, Random& noise,
                     std::vector<std::uint16_t>& out);

}  // namespace livernode::phantom
