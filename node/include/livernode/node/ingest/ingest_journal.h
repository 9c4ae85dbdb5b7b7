#pragma once
// The ingest journal makes a received instance durable with one small synchronous write.
//
// Acknowledging a C-STORE needs the instance on stable storage. Creating, fsyncing and renaming
// a new file and fsyncing its folder costs a file-system journal commit per instance (about a
// millisecond on common disks). Instead the exact bytes of the file are appended to a journal
// segment: a file of fixed size whose blocks were written and fsynced beforehand, so that
// writing into it and calling fdatasync changes no file-system metadata and costs one data
// write. Records are written with direct I/O where the file system allows it (no copy into the
// page cache; fdatasync then only flushes the disk's cache). The spool file itself is written and
// renamed without waiting for the disk; a background thread fsyncs the spool files (and their
// folders) of a segment in one batch and only then reuses the segment. At start-up, before the
// listener opens, every valid record left in the journal is checked against the spool, and a
// missing, short or different spool file is written again from it.
//
// Concurrent associations share their flushes (group commit). Each append takes the next place
// in the active segment, writes its record there without holding the journal's lock, and then
// waits for an fdatasync that began after every record up to and including its own was written:
// the first appender to find no flush running issues it, for all records written so far; those
// written while it runs wait for the next one. A single association thus flushes once per
// instance, as before, and N waiting associations flush once between them. An append returns
// only after such a flush, so every acknowledged record is on stable storage together with every
// record before it in its segment, and a crash tears only records not yet acknowledged -- which
// replay, reading each segment up to its first invalid record, finds after all acknowledged ones.
//
// The spool file may also be written after the record, even after the C-STORE response: the
// record's segment is held (JournalHold) until the file is in place, and a segment is synced
// and reused only when nothing holds it. A file that could not be written keeps its segment
// out of use, so that the next start restores it.
//
// Segments are <dir>/segment-<generation>.wal. A reused segment is renamed to a new
// generation; each record carries its segment's generation and a CRC-32C over header, UIDs and
// bytes, so records left over from an earlier use and a record torn by a crash are recognised
// and ignored. A record is aligned to 4 KiB.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "livernode/node/ingest/spool.h"

namespace livernode::node {

// CRC-32C (Castagnoli), with the SSE 4.2 instruction where the processor has it.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size);

struct JournalOptions {
  std::size_t segment_bytes = 32u << 20;  // a record larger than this takes the direct path
  std::size_t segments = 4;               // segments kept written ahead
  // Spool files are synced in the background once appending has paused this long, or sooner
  // when fewer than two segments are ready: a burst of instances does not compete with it.
  double seal_after_seconds = 0.5;
  // Called by the appender that flushes, with no lock held, just before its fdatasync (tests use
  // it to hold a flush back while other records are appended).
  std::function<void()> before_flush;
};

struct JournalReplay {
  std::size_t segments = 0;           // segment files read
  std::size_t records = 0;            // valid records found
  std::size_t restored = 0;           // spool files written again from a record
  std::vector<std::string> problems;  // records that could not be restored, with reasons
};

// Restores the spool from the journal in `dir` (missing folder: nothing to do). Run before the
// node accepts associations and before the spool is indexed.
JournalReplay replay_journal(const std::filesystem::path& dir, const Spool& spool);

// Returned by IngestJournal::append for an accepted record: its segment is neither synced nor
// reused until the hold is released (the spool file is written) or kept (it could not be). A
// hold that goes away unreleased keeps its segment: the record may be the only copy.
class JournalHold {
 public:
  JournalHold() = default;
  JournalHold(JournalHold&& other) noexcept;
  JournalHold& operator=(JournalHold&& other) noexcept;
  JournalHold(const JournalHold&) = delete;
  JournalHold& operator=(const JournalHold&) = delete;
  ~JournalHold() { keep(); }
  explicit operator bool() const { return static_cast<bool>(done_); }
  void release() { finish(false); }
  // The spool file could not be written: the segment stays as it is until the next start.
  void keep() { finish(true); }

 private:
  friend class IngestJournal;
  void finish(bool keep);
  std::function<void(bool)> done_;
};

class IngestJournal {
 public:
  // Opens the journal in `dir` (created if needed). Existing segments are taken as replayed
  // and reused; the background thread writes missing segments ahead.
  IngestJournal(std::filesystem::path dir, JournalOptions options = {});
  // Syncs every spool file recorded so far, then stops the background thread.
  ~IngestJournal();
  IngestJournal(const IngestJournal&) = delete;
  IngestJournal& operator=(const IngestJournal&) = delete;

  // Appends the complete bytes of the spool file `final_path` for the instance with these
  // UIDs and returns once the record is on stable storage (one flush for the records of all
  // appenders waiting at the time), with a hold on its segment: write
  // the file (no fsync needed), then release the hold. Returns an empty hold, having written
  // nothing, when the record does not fit in a segment or no segment is ready yet: the caller
  // then makes the file durable itself. Throws std::runtime_error when the journal cannot be
  // written.
  JournalHold append(const std::string& study_uid, const std::string& series_uid,
                     const std::string& sop_uid, const std::string& bytes,
                     const std::filesystem::path& final_path);

  // Blocks until every spool file appended so far is fsynced and its segment free again.
  void sync_all();

  // Blocks until all segments are written ahead (a fresh journal writes them first), at most
  // `timeout`; false when it timed out or writing a segment failed. A node opens its port
  // after this, so that the first instances do not share the disk with the pre-writing.
  bool wait_ready(std::chrono::milliseconds timeout);

  struct Stats {
    std::uint64_t appended = 0;   // records written and flushed (acknowledged)
    std::uint64_t written = 0;    // records written, flushed or waiting for a flush
    std::uint64_t flushes = 0;    // fdatasync calls on segments (one covers all records waiting)
    std::uint64_t fallbacks = 0;  // appends refused (no ready segment or too large)
    std::uint64_t segments_synced = 0;
    std::uint64_t segments_kept = 0;  // held back for the next start (a spool file failed)
  };
  Stats stats() const;

 private:
  struct Segment;
  // A record between taking its place and the end of its write.
  struct Pending {
    std::shared_ptr<Segment> segment;
    std::size_t end = 0;  // its segment's offset after it
    bool done = false;    // written, or the write failed
    bool ok = false;      // written
  };
  struct Buffer {
    std::unique_ptr<char, void (*)(void*)> data{nullptr, &std::free};  // 4 KiB aligned
    std::size_t capacity = 0;
  };
  void flush(std::unique_lock<std::mutex>& lock);
  void written(std::uint64_t record, bool ok);
  void run();
  void prepare_segment(std::uint64_t generation, const std::filesystem::path& reuse);
  void sync_and_reuse(const std::shared_ptr<Segment>& segment);
  std::filesystem::path segment_path(std::uint64_t generation) const;

  std::filesystem::path dir_;
  JournalOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;      // the background thread
  std::condition_variable progress_;  // writers finishing, segments synced
  std::condition_variable flushed_;   // appenders: a flush ended or a record's write did
  std::shared_ptr<Segment> active_;
  std::deque<std::shared_ptr<Segment>> ready_;
  std::deque<std::shared_ptr<Segment>> sealed_;
  std::vector<std::filesystem::path> reusable_;  // segment files waiting to be renamed
  std::uint64_t next_generation_ = 1;
  std::size_t segment_count_ = 0;  // files existing or being created
  std::chrono::steady_clock::time_point last_append_{};
  bool flush_wanted_ = false;  // sync_all() waits
  bool stopping_ = false;
  bool syncing_ = false;
  bool preparing_ = false;  // a segment is being written or renamed
  std::string error_;       // last background failure
  Stats stats_;
  // Group commit: records are numbered in the order of their places in the segments.
  std::deque<Pending> pending_;     // records being written, after written_upto_
  std::uint64_t written_upto_ = 0;  // this record and all before it are written (or failed)
  std::uint64_t flushed_upto_ = 0;  // ... and a flush after their writes has ended
  std::vector<std::shared_ptr<Segment>> unflushed_;  // segments written since the last flush
  bool flushing_ = false;                            // an appender is flushing
  std::vector<Buffer> buffers_;                      // free record buffers
  std::thread thread_;
};

}  // namespace livernode::node
