#pragma once
// The second half of receiving an instance, on a thread of the association's own: the spool file
// of a journaled instance is written and the instance and its routing are recorded in the state
// store, while the association's thread answers the C-STORE and receives the next instance.
// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/node/ingest/ingest_journal.h"
#include "livernode/node/runtime.h"

namespace livernode::node {

struct SeriesTally {
  std::uint64_t stored = 0, duplicates = 0;
};

// What one association stored, refused and received, for its end line: written by the
// association's thread and by its indexing thread.
struct AssociationTally {
  std::mutex mutex;
  std::map<std::string, SeriesTally> series;
  std::uint64_t failed = 0, bytes = 0;
};

// An instance's place in the spool backlog (StorageState::spool_backlog_add), given back when
// its spool file has been attempted or when it goes.
class SpoolBacklogEntry {
 public:
  SpoolBacklogEntry() = default;
  SpoolBacklogEntry(StorageState& state, std::int64_t bytes) : state_(&state), bytes_(bytes) {
    state.spool_backlog_add(bytes);
  }
  SpoolBacklogEntry(SpoolBacklogEntry&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), bytes_(other.bytes_) {}
  SpoolBacklogEntry& operator=(SpoolBacklogEntry&& other) noexcept {
    if (this != &other) {
      release();
      state_ = std::exchange(other.state_, nullptr);
      bytes_ = other.bytes_;
    }
    return *this;
  }
  SpoolBacklogEntry(const SpoolBacklogEntry&) = delete;
  SpoolBacklogEntry& operator=(const SpoolBacklogEntry&) = delete;
  ~SpoolBacklogEntry() { release(); }
  void release() {
    if (state_) state_->spool_backlog_remove(bytes_);
    state_ = nullptr;
  }

 private:
  StorageState* state_ = nullptr;
  std::int64_t bytes_ = 0;
};

// A durable instance on its way into the spool folder and the state store.
struct ReceivedInstance {
  std::unique_ptr<DcmFileFormat> file;
  std::string study, series, sop, sop_class, xfer_uid, bytes;  // bytes: journaled only
  std::int64_t size_bytes = 0;
  std::filesystem::path path;
  JournalHold hold;           // set: the spool file is still to be written
  SpoolBacklogEntry backlog;  // with `hold`
};

// Marks the spool as failing (logged once, when it starts): until a spool file can be written
// again, each instance is written into the spool and fsynced before it is acknowledged.
void note_spool_failed(Runtime& runtime, const std::string& why);

// The indexing thread of one association, started on first use.
class InstanceIndexer {
 public:
  // `calling_ae` and `peer` are the association's, read when an instance is recorded.
  InstanceIndexer(Runtime& runtime, AssociationTally& tally, const std::string& calling_ae,
                  const std::string& peer)
      : runtime_(runtime), tally_(tally), calling_ae_(calling_ae), peer_(peer) {}
  ~InstanceIndexer() { finish(); }
  InstanceIndexer(const InstanceIndexer&) = delete;
  InstanceIndexer& operator=(const InstanceIndexer&) = delete;

  // Hands an instance to the indexing thread (started on first use). The queue is short: a
  // sender faster than the disk waits here instead of filling memory.
  void enqueue(ReceivedInstance s);
  // Waits until everything queued is indexed, then ends the indexing thread.
  void finish();

 private:
  void loop();
  void index(ReceivedInstance& s);

  static constexpr std::size_t kQueue = 32;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<ReceivedInstance> queue_;
  bool stop_ = false;
  std::thread thread_;

  Runtime& runtime_;
  AssociationTally& tally_;
  const std::string& calling_ae_;
  const std::string& peer_;
};

}  // namespace livernode::node
