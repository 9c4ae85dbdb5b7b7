#pragma once
// The ingest journal's files (ingest_journal.h): segment-<generation>.wal, each a sequence of
// records aligned to 4 KiB -- a header, the study, series and SOP instance UIDs, and the bytes of
// the spool file -- and the file I/O the journal and its replay share.
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace livernode::node::journal_format {

constexpr std::uint32_t kMagic = 0x524a4e4c;  // "LNJR"
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 40;
constexpr std::size_t kAlign = 4096;

inline std::size_t aligned(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Header layout (little endian): magic, version, generation, payload size, UID lengths
// (study, series, SOP; 16 bits each), reserved, CRC-32C of the header with the CRC field zero,
// the UIDs and the payload.
struct Header {
  std::uint64_t generation = 0;
  std::uint64_t payload = 0;
  std::uint16_t study = 0, series = 0, sop = 0;
  std::uint32_t crc = 0;
  std::size_t uid_bytes() const { return std::size_t{study} + series + sop; }
  std::size_t record_bytes() const { return kHeaderBytes + uid_bytes() + payload; }
};

void put32(unsigned char* p, std::uint32_t v);
void encode(const Header& h, unsigned char* out);
bool decode(const unsigned char* in, Header& h);
// The CRC-32C of a record: its header with the CRC field zero, the UIDs and the payload.
std::uint32_t record_crc(const unsigned char* header, const std::string& uids, const char* payload,
                         std::size_t payload_size);

std::string errno_text();
// pwritev / pread until everything is written or read; false on an error (errno set).
bool write_all_at(int fd, const struct iovec* parts, int count, off_t offset);
bool read_all_at(int fd, void* out, std::size_t size, off_t offset);

// The segment files in `dir` with their generations, oldest first.
std::vector<std::pair<std::uint64_t, std::filesystem::path>> list_segments(
    const std::filesystem::path& dir);
// Removes the segments left half-made (segment-*.tmp) in `dir`.
void remove_partial_segments(const std::filesystem::path& dir);

}  // namespace livernode::node::journal_format
