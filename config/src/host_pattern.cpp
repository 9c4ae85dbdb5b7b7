#include "livernode/config/host_pattern.h"

#include <arpa/inet.h>

#include <charconv>

namespace livernode::config {

namespace {

struct Address {
  bool ipv6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

std::optional<Address> parse_address(const std::string& text) {
  Address address;
  if (inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) return address;
  if (inet_pton(AF_INET6, text.c_str(), address.bytes.data()) == 1) {
    address.ipv6 = true;
    return address;
  }
  return std::nullopt;
}

// "::ffff:a.b.c.d" as the IPv4 address a.b.c.d.
Address unmap_ipv4(const Address& address) {
  static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!address.ipv6) return address;
  for (std::size_t i = 0; i < 12; ++i) {
    if (address.bytes[i] != kMappedPrefix[i]) return address;
  }
  Address v4;
  for (std::size_t i = 0; i < 4; ++i) v4.bytes[i] = address.bytes[12 + i];
  return v4;
}

}  // namespace

std::optional<HostPattern> HostPattern::parse(const std::string& text) {
  const auto slash = text.find('/');
  const auto address = parse_address(text.substr(0, slash));
  if (!address) return std::nullopt;

  HostPattern pattern;
  pattern.ipv6_ = address->ipv6;
  pattern.bytes_ = address->bytes;
  const int max_length = address->ipv6 ? 128 : 32;
  pattern.prefix_length_ = max_length;
  if (slash != std::string::npos) {
    const char* first = text.data() + slash + 1;
    const char* last = text.data() + text.size();
    int length = -1;
    const auto [end, error] = std::from_chars(first, last, length);
    if (first == last || error != std::errc() || end != last || length < 0 || length > max_length) {
      return std::nullopt;
    }
    pattern.prefix_length_ = length;
  }
  return pattern;
}

bool HostPattern::matches(const std::string& text) const {
  auto address = parse_address(text);
  if (!address) return false;
  if (!ipv6_) *address = unmap_ipv4(*address);
  if (address->ipv6 != ipv6_) return false;

  int remaining = prefix_length_;
  for (std::size_t i = 0; remaining > 0; ++i, remaining -= 8) {
    const int bits = remaining >= 8 ? 8 : remaining;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((address->bytes[i] & mask) != (bytes_[i] & mask)) return false;
  }
  return true;
}

std::string HostPattern::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6_ ? AF_INET6 : AF_INET, bytes_.data(), buffer, sizeof buffer);
  std::string text = buffer;
  if (prefix_length_ != (ipv6_ ? 128 : 32)) text += '/' + std::to_string(prefix_length_);
  return text;
}

}  // namespace livernode::config
