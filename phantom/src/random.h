#pragma once
// Deterministic pseudo-random numbers, independent of the standard library's distributions so
// that the phantom is bit-identical across library versions: splitmix64 for integers and
// uniforms, Box-Muller for Gaussian noise, and a few hash helpers for deriving keys.
#include <cmath>
#include <cstdint>
#include <string>

namespace livernode::phantom {

// One splitmix64 step: advances `state` and returns a well-mixed 64-bit value.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Combines a running hash with one more value.
inline std::uint64_t hash_combine(std::uint64_t h, std::uint64_t value) {
  std::uint64_t state = h ^ (value * 0xD6E8FEB86659FD93ULL);
  return splitmix64(state);
}

// FNV-1a over the bytes of `text`, then combined into `h`.
inline std::uint64_t hash_combine(std::uint64_t h, const std::string& text) {
  std::uint64_t f = 0xCBF29CE484222325ULL;
  for (unsigned char c : text) f = (f ^ c) * 0x100000001B3ULL;
  return hash_combine(h, f);
}

class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() { return splitmix64(state_); }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

  // Standard normal deviate (Box-Muller; the second value of each pair is kept for the next call).
  double gaussian() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    spare_ = r * std::sin(angle);
    has_spare_ = true;
    return r * std::cos(angle);
  }

 private:
  std::uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace livernode::phantom
