#pragma once
// An allowed-caller host: one IPv4/IPv6 address or a CIDR block ("10.0.0.0/8", "fd00::/8").
// Pure text parsing; no name resolution.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace livernode::config {

class HostPattern {
 public:
  // nullopt when text is neither an address nor a CIDR block.
  static std::optional<HostPattern> parse(const std::string& text);

  // True when address (textual IPv4 or IPv6, e.g. a peer's address) lies in the block.
  // IPv4-mapped IPv6 addresses ("::ffff:10.1.2.3") match IPv4 blocks.
  bool matches(const std::string& address) const;

  std::string to_string() const;

 private:
  bool ipv6_ = false;
  std::array<std::uint8_t, 16> bytes_{};  // IPv4 uses the first 4
  int prefix_length_ = 0;
};

}  // namespace livernode::config
