#include "journal_format.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "livernode/node/ingest/ingest_journal.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

// Reflected CRC-32C table for the portable path.
std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    table[i] = c;
  }
  return table;
}

std::uint32_t crc32c_portable(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  static const auto table = make_crc_table();
  while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             const unsigned char* p,
                                                             std::size_t n) {
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  std::uint32_t c32 = static_cast<std::uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
#endif

void put64(unsigned char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint32_t get32(const unsigned char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  crc = hardware ? crc32c_sse42(crc, p, size) : crc32c_portable(crc, p, size);
#else
  crc = crc32c_portable(crc, p, size);
#endif
  return ~crc;
}

namespace journal_format {

void put32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

void encode(const Header& h, unsigned char* out) {
  std::memset(out, 0, kHeaderBytes);
  put32(out, kMagic);
  put32(out + 4, kVersion);
  put64(out + 8, h.generation);
  put64(out + 16, h.payload);
  out[24] = static_cast<unsigned char>(h.study);
  out[25] = static_cast<unsigned char>(h.study >> 8);
  out[26] = static_cast<unsigned char>(h.series);
  out[27] = static_cast<unsigned char>(h.series >> 8);
  out[28] = static_cast<unsigned char>(h.sop);
  out[29] = static_cast<unsigned char>(h.sop >> 8);
  put32(out + 32, h.crc);
}

bool decode(const unsigned char* in, Header& h) {
  if (get32(in) != kMagic || get32(in + 4) != kVersion) return false;
  h.generation = get64(in + 8);
  h.payload = get64(in + 16);
  h.study = static_cast<std::uint16_t>(in[24] | (in[25] << 8));
  h.series = static_cast<std::uint16_t>(in[26] | (in[27] << 8));
  h.sop = static_cast<std::uint16_t>(in[28] | (in[29] << 8));
  h.crc = get32(in + 32);
  return true;
}

std::uint32_t record_crc(const unsigned char* header, const std::string& uids, const char* payload,
                         std::size_t payload_size) {
  unsigned char zeroed[kHeaderBytes];
  std::memcpy(zeroed, header, kHeaderBytes);
  put32(zeroed + 32, 0);
  std::uint32_t c = crc32c(0, zeroed, kHeaderBytes);
  c = crc32c(c, uids.data(), uids.size());
  return crc32c(c, payload, payload_size);
}

std::string errno_text() { return std::strerror(errno); }

bool write_all_at(int fd, const struct iovec* parts, int count, off_t offset) {
  std::vector<struct iovec> iov(parts, parts + count);
  std::size_t first = 0;
  while (first < iov.size()) {
    const ssize_t n =
        ::pwritev(fd, iov.data() + first, static_cast<int>(iov.size() - first), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    offset += n;
    std::size_t left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

bool read_all_at(int fd, void* out, std::size_t size, off_t offset) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

namespace {

// segment-<16 hex digits>.wal -> generation; 0 for any other name.
std::uint64_t generation_of(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name.size() != 8 + 16 + 4 || name.rfind("segment-", 0) != 0 ||
      name.compare(24, 4, ".wal") != 0)
    return 0;
  std::uint64_t g = 0;
  for (std::size_t i = 8; i < 24; ++i) {
    const char c = name[i];
    const int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    g = (g << 4) | static_cast<std::uint64_t>(d);
  }
  return g;
}

}  // namespace

std::vector<std::pair<std::uint64_t, fs::path>> list_segments(const fs::path& dir) {
  std::vector<std::pair<std::uint64_t, fs::path>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::uint64_t g = generation_of(entry.path());
    if (g != 0 && entry.is_regular_file(ec)) out.emplace_back(g, entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void remove_partial_segments(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("segment-", 0) == 0 && name.size() > 4 &&
        name.compare(name.size() - 4, 4, ".tmp") == 0)
      fs::remove(entry.path(), ec);
  }
}

}  // namespace journal_format

}  // namespace livernode::node
