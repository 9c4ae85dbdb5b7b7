#include "instance_indexer.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "dicom_text.h"
#include "livernode/node/ingest/routing.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/ingest/spool_recovery.h"

namespace livernode::node {

void note_spool_failed(Runtime& runtime, const std::string& why) {
  if (runtime.storage.spool_failed(why))
    spdlog::error(
        "event=spool_unwritable error=\"{}\" note=\"until a spool file can be written again, "
        "each instance is written into the spool and fsynced before it is acknowledged, and "
        "refused (A700) when that fails\"",
        quoted_safe(why));
}

void InstanceIndexer::enqueue(ReceivedInstance s) {
  // From here until it is recorded the instance holds its study open (study tracker).
  runtime_.in_flight.add(s.study);
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) {
    stop_ = false;
    thread_ = std::thread([this] { loop(); });
  }
  cv_.wait(lock, [&] { return queue_.size() < kQueue; });
  queue_.push_back(std::move(s));
  cv_.notify_all();
}

void InstanceIndexer::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // asked to stop, and nothing left
    ReceivedInstance s = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    lock.unlock();
    const std::string study = s.study;
    index(s);
    s = ReceivedInstance{};  // the dataset and the hold go before the lock is taken again
    runtime_.in_flight.done(study);
    lock.lock();
  }
}

void InstanceIndexer::finish() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stop_ = true;
    cv_.notify_all();
  }
  thread_.join();
}

// Writes the spool file of a journaled instance, then records the instance and its routing.
// A failure here loses nothing: the journal restores a missing file at the next start, and
// the start-up walk of the spool records a file the state store does not know.
void InstanceIndexer::index(ReceivedInstance& s) {
  if (s.hold) {
    try {
      Spool(runtime_.config.get()->config.storage.spool_dir)
          .store_unsynced(s.study, s.series, s.sop, s.bytes);
      s.backlog.release();
      s.hold.release();
    } catch (const std::exception& e) {
      s.backlog.release();
      s.hold.keep();
      {
        std::lock_guard lock(tally_.mutex);
        tally_.failed++;
      }
      spdlog::error(
          "event=spool_write_failed sop={} error=\"{}\" note=\"kept in the ingest journal, "
          "restored at the next start\"",
          s.sop, e.what());
      note_spool_failed(runtime_, e.what());
      return;
    }
  }
  try {
    const auto cfg = runtime_.config.get();
    InstanceRecord r;
    describe_instance(*s.file, r);
    r.sop_instance_uid = s.sop;
    r.sop_class_uid = s.sop_class;
    r.study_uid = s.study;
    r.series_uid = s.series;
    r.transfer_syntax_uid = s.xfer_uid;
    r.path = s.path.string();
    r.size_bytes = s.size_bytes;
    r.calling_ae = calling_ae_;
    r.peer_address = peer_;
    r.received_at = wall_now();
    const auto seg = decide_routing(*s.file->getDataset(), r, cfg->router, *runtime_.store);
    const bool recorded = runtime_.store->record_instance(r);
    if (runtime_.storage.store_written())
      spdlog::info("event=state_store_writable note=\"instances are recorded again\"");
    std::lock_guard lock(tally_.mutex);
    if (recorded) {
      if (seg && seg->kind == SegDecision::correction) {
        for (const auto& job : runtime_.store->jobs(seg->target_study, 1))
          spdlog::info(
              "event=job_state job={} study={} version={} state=queued reason=correction seg={} "
              "referenced_series={}",
              job.id, job.study_uid, job.version, s.sop,
              seg->target_series.empty() ? "-" : seg->target_series);
      }
      tally_.series[s.series].stored++;
      runtime_.metrics.instances_received++;
      runtime_.metrics.bytes_received += static_cast<std::uint64_t>(r.size_bytes);
      tally_.bytes += static_cast<std::uint64_t>(r.size_bytes);
      spdlog::debug("event=instance_stored sop={} series={} patient_id={} bytes={}", s.sop,
                    s.series, r.patient_id, r.size_bytes);
    } else {
      tally_.series[s.series].duplicates++;
      runtime_.metrics.instances_duplicate++;
    }
  } catch (const std::exception& e) {
    spdlog::error(
        "event=index_failed sop={} error=\"{}\" note=\"the spooled file is recorded at the "
        "next start\"",
        s.sop, e.what());
    runtime_.storage.store_failed(e.what());
  }
}

}  // namespace livernode::node
