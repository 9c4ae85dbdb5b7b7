#include "livernode/node/ingest/ingest_journal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <stdexcept>

#include "journal_format.h"
#include "livernode/node/error.h"

namespace livernode::node {

namespace fs = std::filesystem;
using namespace journal_format;

struct IngestJournal::Segment {
  std::uint64_t generation = 0;
  fs::path path;
  int fd = -1;
  std::size_t offset = 0;           // next free byte
  std::size_t holds = 0;            // records whose spool file is not written yet
  bool keep = false;                // a spool file failed: not reused, replayed at the next start
  std::atomic<bool> direct{false};  // opened for direct I/O
  std::vector<fs::path> files;      // spool files to fsync before the segment is reused
  std::chrono::steady_clock::time_point last_append;
  // Group commit: the records before written_end are written, those before synced_end also
  // flushed; none from failed_from on is acknowledged (a write or a flush failed there).
  std::size_t written_end = 0;
  std::size_t synced_end = 0;
  std::size_t failed_from = SIZE_MAX;
  std::string failure;  // why
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

fs::path IngestJournal::segment_path(std::uint64_t generation) const {
  char name[32];
  std::snprintf(name, sizeof name, "segment-%016llx.wal",
                static_cast<unsigned long long>(generation));
  return dir_ / name;
}

IngestJournal::IngestJournal(fs::path dir, JournalOptions options)
    : dir_(std::move(dir)), options_(options) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw NodeError(NodeErrorKind::kStorage,
                    "cannot create journal folder " + dir_.string() + ": " + ec.message());
  if (!fsync_path(dir_.parent_path()))
    throw NodeError(NodeErrorKind::kStorage,
                    "cannot fsync " + dir_.parent_path().string() + ": " + errno_text());
  remove_partial_segments(dir_);
  for (const auto& [generation, path] : list_segments(dir_)) {
    next_generation_ = std::max(next_generation_, generation + 1);
    if (fs::file_size(path, ec) == options_.segment_bytes && segment_count_ < options_.segments) {
      reusable_.push_back(path);
      segment_count_++;
    } else {
      fs::remove(path, ec);  // another size or more than needed: written again or dropped
    }
  }
  thread_ = std::thread([this] { run(); });
}

IngestJournal::~IngestJournal() {
  try {
    sync_all();
  } catch (...) {
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

JournalHold::JournalHold(JournalHold&& other) noexcept : done_(std::move(other.done_)) {
  other.done_ = nullptr;
}

JournalHold& JournalHold::operator=(JournalHold&& other) noexcept {
  if (this != &other) {
    keep();
    done_ = std::move(other.done_);
    other.done_ = nullptr;
  }
  return *this;
}

void JournalHold::finish(bool keep) {
  if (!done_) return;
  auto done = std::move(done_);
  done_ = nullptr;
  done(keep);
}

JournalHold IngestJournal::append(const std::string& study_uid, const std::string& series_uid,
                                  const std::string& sop_uid, const std::string& bytes,
                                  const fs::path& final_path) {
  Header h;
  h.payload = bytes.size();
  h.study = static_cast<std::uint16_t>(study_uid.size());
  h.series = static_cast<std::uint16_t>(series_uid.size());
  h.sop = static_cast<std::uint16_t>(sop_uid.size());
  const std::size_t size = aligned(h.record_bytes());
  const std::string uids = study_uid + series_uid + sop_uid;

  std::unique_lock lock(mutex_);
  if (size > options_.segment_bytes) {
    stats_.fallbacks++;
    return {};
  }
  if (active_ && active_->offset + size > options_.segment_bytes) {
    sealed_.push_back(std::move(active_));
    wake_.notify_all();
  }
  if (!active_) {
    if (ready_.empty()) {
      stats_.fallbacks++;
      return {};
    }
    active_ = std::move(ready_.front());
    ready_.pop_front();
    wake_.notify_all();  // write the next one ahead
  }
  // The record's place: the next in the segment and the next in the journal's numbering. The
  // segment is held from here on, so that it is neither synced nor reused under the write.
  const std::shared_ptr<Segment> segment = active_;
  h.generation = segment->generation;
  const off_t offset = static_cast<off_t>(segment->offset);
  segment->offset += size;
  segment->holds++;
  segment->files.push_back(final_path);
  segment->last_append = last_append_ = std::chrono::steady_clock::now();
  const std::uint64_t record = written_upto_ + pending_.size() + 1;
  pending_.push_back({segment, segment->offset});
  Buffer buffer;
  if (!buffers_.empty()) {
    buffer = std::move(buffers_.back());
    buffers_.pop_back();
  }
  lock.unlock();

  // The record is assembled in one aligned buffer and written with direct I/O where the
  // segment has it: the bytes go from this buffer to the disk, and fdatasync is left with the
  // disk's cache flush. (A buffered write spends about as long copying them into new page-cache
  // pages as the disk takes to store them.) Appenders write their records at the same time.
  bool ok = true;
  std::string reason;
  if (buffer.capacity < size) {
    void* p = nullptr;
    ok = ::posix_memalign(&p, kAlign, size) == 0;
    if (ok) {
      buffer.data.reset(static_cast<char*>(p));
      buffer.capacity = size;
    } else {
      reason = "no memory for a record of " + std::to_string(size) + " bytes";
    }
  }
  if (ok) {
    char* data = buffer.data.get();
    encode(h, reinterpret_cast<unsigned char*>(data));
    std::memcpy(data + kHeaderBytes, uids.data(), uids.size());
    std::memcpy(data + kHeaderBytes + uids.size(), bytes.data(), bytes.size());
    std::memset(data + h.record_bytes(), 0, size - h.record_bytes());
    h.crc = record_crc(reinterpret_cast<unsigned char*>(data), uids, bytes.data(), bytes.size());
    put32(reinterpret_cast<unsigned char*>(data) + 32, h.crc);
    const struct iovec part { data, size };
    ok = write_all_at(segment->fd, &part, 1, offset);
    if (!ok && errno == EINVAL && segment->direct) {
      // The file system refuses direct I/O for this write: buffered from now on.
      segment->direct = false;
      ::fcntl(segment->fd, F_SETFL, ::fcntl(segment->fd, F_GETFL) & ~O_DIRECT);
      ok = write_all_at(segment->fd, &part, 1, offset);
    }
    if (!ok) reason = errno_text();
  }

  lock.lock();
  // A record larger than most is not kept in memory for the next one.
  if (buffer.capacity > 0 && buffer.capacity <= (8u << 20)) buffers_.push_back(std::move(buffer));
  if (!ok) {
    // Nothing more goes into this segment, and no record after this one in it is acknowledged
    // (replay would stop here); its spool files are still synced before reuse.
    segment->failed_from = std::min(segment->failed_from, static_cast<std::size_t>(offset));
    segment->failure = reason;
    if (active_ == segment) sealed_.push_back(std::move(active_));
  }
  written(record, ok);
  // Group commit: wait for a flush that began after this record and every one before it were
  // written; the first appender to find none running issues it.
  while (ok && flushed_upto_ < record) {
    if (!flushing_ && written_upto_ >= record)
      flush(lock);
    else
      flushed_.wait(lock);
  }
  if (static_cast<std::size_t>(offset) >= segment->failed_from) {
    segment->holds--;
    wake_.notify_all();
    throw NodeError(NodeErrorKind::kStorage, "cannot write ingest journal " +
                                                 segment->path.string() + ": " + segment->failure);
  }
  stats_.appended++;
  JournalHold hold;
  hold.done_ = [this, held = segment](bool keep) {
    std::lock_guard guard(mutex_);
    held->holds--;
    if (keep) held->keep = true;
    wake_.notify_all();
  };
  return hold;
}

// Marks `record` written (or its write failed) and moves written_upto_ past every record
// written without a gap. Called with the lock held.
void IngestJournal::written(std::uint64_t record, bool ok) {
  Pending& p = pending_[record - written_upto_ - 1];
  p.done = true;
  p.ok = ok;
  while (!pending_.empty() && pending_.front().done) {
    Pending& first = pending_.front();
    if (first.ok) {
      stats_.written++;
      Segment& s = *first.segment;
      s.written_end = std::max(s.written_end, first.end);
      if (std::find(unflushed_.begin(), unflushed_.end(), first.segment) == unflushed_.end())
        unflushed_.push_back(first.segment);
    }
    pending_.pop_front();
    written_upto_++;
  }
  // A waiting appender may now issue the flush (the one whose write ends a gap does so itself
  // unless its write failed).
  if (!ok) flushed_.notify_all();
}

// One flush for every record written so far: fdatasync on each segment written since the last
// flush. Called and returning with the lock held; other appenders wait meanwhile.
void IngestJournal::flush(std::unique_lock<std::mutex>& lock) {
  const std::uint64_t upto = written_upto_;
  std::vector<std::pair<std::shared_ptr<Segment>, std::size_t>> work;
  for (auto& segment : unflushed_) work.emplace_back(segment, segment->written_end);
  std::vector<std::string> errors(work.size());
  unflushed_.clear();
  flushing_ = true;
  lock.unlock();
  if (options_.before_flush) {
    try {
      options_.before_flush();
    } catch (...) {
    }
  }
  for (std::size_t i = 0; i < work.size(); ++i)
    if (::fdatasync(work[i].first->fd) != 0) errors[i] = errno_text();
  lock.lock();
  for (std::size_t i = 0; i < work.size(); ++i) {
    Segment& segment = *work[i].first;
    stats_.flushes++;
    if (errors[i].empty()) {
      segment.synced_end = std::max(segment.synced_end, work[i].second);
      continue;
    }
    // What this flush should have covered may be lost: none of it is acknowledged, and
    // nothing more goes into the segment.
    segment.failed_from = std::min(segment.failed_from, segment.synced_end);
    segment.failure = errors[i];
    if (active_ == work[i].first) sealed_.push_back(std::move(active_));
    wake_.notify_all();
  }
  flushed_upto_ = std::max(flushed_upto_, upto);
  flushing_ = false;
  flushed_.notify_all();
}

void IngestJournal::sync_all() {
  std::unique_lock lock(mutex_);
  if (active_ && !active_->files.empty()) sealed_.push_back(std::move(active_));
  flush_wanted_ = true;
  wake_.notify_all();
  progress_.wait(lock, [&] { return (sealed_.empty() && !syncing_) || stopping_; });
  flush_wanted_ = false;
  if (!error_.empty()) {
    const std::string e = error_;
    error_.clear();
    throw NodeError(NodeErrorKind::kStorage, e);
  }
}

bool IngestJournal::wait_ready(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return progress_.wait_for(lock, timeout, [&] {
    return !error_.empty() ||
           (segment_count_ >= options_.segments && reusable_.empty() && !preparing_);
  }) && error_.empty();
}

IngestJournal::Stats IngestJournal::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void IngestJournal::prepare_segment(std::uint64_t generation, const fs::path& reuse) {
  const fs::path target = segment_path(generation);
  if (reuse.empty()) {
    // A new segment: every block written once and fsynced, so that later writes into it change
    // no allocation metadata.
    const fs::path temp = target.string() + ".tmp";
    // Direct I/O where the file system has it: the zeros go to the disk without being copied
    // into the page cache, which would cost the receiving threads CPU and memory bandwidth.
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0600);
    if (fd < 0) fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      throw NodeError(NodeErrorKind::kStorage,
                      "cannot create " + temp.string() + ": " + errno_text());
    constexpr std::size_t kZeroBlock = 1u << 20;
    static const std::unique_ptr<char, decltype(&std::free)> zeros(
        [] {
          void* p = nullptr;
          if (::posix_memalign(&p, kAlign, kZeroBlock) != 0) throw std::bad_alloc();
          std::memset(p, 0, kZeroBlock);
          return static_cast<char*>(p);
        }(),
        &std::free);
    bool ok = true;
    for (std::size_t at = 0; ok && at < options_.segment_bytes; at += kZeroBlock) {
      const struct iovec part { zeros.get(), std::min(kZeroBlock, options_.segment_bytes - at) };
      ok = write_all_at(fd, &part, 1, static_cast<off_t>(at));
      if (!ok && errno == EINVAL && (::fcntl(fd, F_GETFL) & O_DIRECT) != 0) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_DIRECT);  // not for this size or file system
        ok = write_all_at(fd, &part, 1, static_cast<off_t>(at));
      }
    }
    ok = ok && ::fsync(fd) == 0;
    const std::string reason = errno_text();
    ::close(fd);
    if (!ok || ::rename(temp.c_str(), target.c_str()) != 0) {
      std::error_code ec;
      fs::remove(temp, ec);
      throw NodeError(NodeErrorKind::kStorage,
                      "cannot write journal segment " + temp.string() + ": " + reason);
    }
  } else if (::rename(reuse.c_str(), target.c_str()) != 0) {
    throw NodeError(NodeErrorKind::kStorage,
                    "cannot rename " + reuse.string() + ": " + errno_text());
  }
  if (!fsync_path(dir_))
    throw NodeError(NodeErrorKind::kStorage, "cannot fsync " + dir_.string() + ": " + errno_text());
  auto segment = std::make_shared<Segment>();
  segment->generation = generation;
  segment->path = target;
  segment->fd = ::open(target.c_str(), O_RDWR | O_CLOEXEC | O_DIRECT);
  segment->direct = segment->fd >= 0;
  if (segment->fd < 0) segment->fd = ::open(target.c_str(), O_RDWR | O_CLOEXEC);
  if (segment->fd < 0)
    throw NodeError(NodeErrorKind::kStorage,
                    "cannot open " + target.string() + ": " + errno_text());
  std::lock_guard lock(mutex_);
  ready_.push_back(std::move(segment));
}

void IngestJournal::sync_and_reuse(const std::shared_ptr<Segment>& segment) {
  std::set<fs::path> folders;
  for (const auto& file : segment->files) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // removed since (clean-up): nothing left to keep
      throw NodeError(NodeErrorKind::kStorage,
                      "cannot open " + file.string() + ": " + errno_text());
    }
    const int rc = ::fsync(fd);
    const std::string reason = errno_text();
    ::close(fd);
    if (rc != 0)
      throw NodeError(NodeErrorKind::kStorage, "cannot fsync " + file.string() + ": " + reason);
    folders.insert(file.parent_path());
  }
  for (const auto& folder : folders)
    if (!fsync_path(folder) && errno != ENOENT)
      throw NodeError(NodeErrorKind::kStorage,
                      "cannot fsync " + folder.string() + ": " + errno_text());
  std::lock_guard lock(mutex_);
  stats_.segments_synced++;
  if (segment->keep) {
    // Its records are the only copy of instances whose spool file failed: replayed at the
    // next start, and meanwhile one segment fewer is in use.
    stats_.segments_kept++;
    spdlog::error(
        "event=journal_segment_kept segment={} reason=\"a spool file could not be "
        "written; restored from the journal at the next start\"",
        segment->path.filename().string());
    return;
  }
  reusable_.push_back(segment->path);
}

void IngestJournal::run() {
  const auto seal_after = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options_.seal_after_seconds));
  std::unique_lock lock(mutex_);
  while (true) {
    const bool idle = std::chrono::steady_clock::now() - last_append_ >= seal_after;
    if (active_ && !active_->files.empty() && idle) sealed_.push_back(std::move(active_));
    const bool urgent = flush_wanted_ || stopping_ || ready_.size() < 2;
    try {
      const auto free =
          std::find_if(sealed_.begin(), sealed_.end(), [](const auto& s) { return s->holds == 0; });
      if (free != sealed_.end() && (idle || urgent)) {
        auto segment = std::move(*free);
        sealed_.erase(free);
        syncing_ = true;
        lock.unlock();
        sync_and_reuse(segment);
        segment.reset();
        lock.lock();
        syncing_ = false;
        progress_.notify_all();
        continue;
      }
      if (!reusable_.empty() || (!stopping_ && segment_count_ < options_.segments)) {
        fs::path reuse;
        if (!reusable_.empty()) {
          reuse = reusable_.back();
          reusable_.pop_back();
        } else {
          segment_count_++;
        }
        const std::uint64_t generation = next_generation_++;
        preparing_ = true;
        lock.unlock();
        prepare_segment(generation, reuse);
        lock.lock();
        preparing_ = false;
        progress_.notify_all();
        continue;
      }
    } catch (const std::exception& e) {
      if (!lock.owns_lock()) lock.lock();
      syncing_ = false;
      preparing_ = false;
      error_ = e.what();
      spdlog::error("event=journal_failed error=\"{}\"", e.what());
      progress_.notify_all();
      // The failed segment is not reused; appends fall back to fsyncing each file.
    }
    if (stopping_) break;
    wake_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

}  // namespace livernode::node
