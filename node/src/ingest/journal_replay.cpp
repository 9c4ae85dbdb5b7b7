// replay_journal (ingest_journal.h): the spool restored from the records left in the journal.
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "journal_format.h"
#include "livernode/node/ingest/ingest_journal.h"

namespace livernode::node {

namespace fs = std::filesystem;
using namespace journal_format;

namespace {

bool same_contents(const fs::path& path, const std::string& bytes) {
  std::error_code ec;
  if (fs::file_size(path, ec) != bytes.size() || ec) return false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string existing(bytes.size(), '\0');
  const bool ok = read_all_at(fd, existing.data(), existing.size(), 0);
  ::close(fd);
  return ok && existing == bytes;
}

}  // namespace

JournalReplay replay_journal(const fs::path& dir, const Spool& spool) {
  JournalReplay result;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return result;
  remove_partial_segments(dir);
  for (const auto& [generation, path] : list_segments(dir)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      result.problems.push_back("cannot open " + path.string() + ": " + errno_text());
      continue;
    }
    result.segments++;
    const auto size = static_cast<std::size_t>(fs::file_size(path, ec));
    std::size_t offset = 0;
    while (offset + kHeaderBytes <= size) {
      unsigned char raw[kHeaderBytes];
      Header h;
      if (!read_all_at(fd, raw, kHeaderBytes, static_cast<off_t>(offset)) || !decode(raw, h) ||
          h.generation != generation || h.payload > size || offset + h.record_bytes() > size)
        break;  // end of this use of the segment: zeros, an older generation, or a torn write
      std::string uids(h.uid_bytes(), '\0');
      std::string payload(h.payload, '\0');
      if (!read_all_at(fd, uids.data(), uids.size(), static_cast<off_t>(offset + kHeaderBytes)) ||
          !read_all_at(fd, payload.data(), payload.size(),
                       static_cast<off_t>(offset + kHeaderBytes + uids.size())) ||
          record_crc(raw, uids, payload.data(), payload.size()) != h.crc)
        break;
      result.records++;
      offset += aligned(h.record_bytes());
      const std::string study = uids.substr(0, h.study);
      const std::string series = uids.substr(h.study, h.series);
      const std::string sop = uids.substr(std::size_t{h.study} + h.series, h.sop);
      try {
        const fs::path target = spool.instance_path(study, series, sop);
        if (same_contents(target, payload)) continue;
        spool.store(study, series, sop, [&](const fs::path& temp, std::string& error) {
          return write_file(temp, payload, error);
        });
        result.restored++;
      } catch (const std::exception& e) {
        result.problems.push_back("record for SOP instance " + sop.substr(0, 64) + " in " +
                                  path.filename().string() + ": " + e.what());
      }
    }
    ::close(fd);
  }
  return result;
}

}  // namespace livernode::node
