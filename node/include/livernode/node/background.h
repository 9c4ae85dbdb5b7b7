#pragma once
// The node's background stages, each on its own thread(s), linked only through the state
// store: the study tracker (completion timers and retention), the analysis workers and the
// exporter (C-STORE SCU with retries). Each stops at a safe point: between two studies,
// jobs or deliveries.
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "livernode/node/runtime.h"

namespace livernode::node {

// Something to wake: a stage sleeping until its next due time.
class Wakeup {
 public:
  void notify() {
    {
      std::lock_guard lock(mutex_);
      pending_ = true;
    }
    cv_.notify_all();
  }
  // Sleeps up to `seconds` or until notify()/stop(); returns false once stopped.
  bool wait(double seconds);
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopped_ = false;
};

// Turns quiet studies into jobs: a series is complete after study_completion.series_quiet_s
// without a new instance, a study after study_quiet_s, or at the latest max_wait_s after its
// first instance. Studies without an analysed series are kept as "stored" and deleted after
// storage.unrouted_retention_hours; analysed studies (and their results) after
// storage.retention_days once nothing is waiting for delivery.
class StudyTracker {
 public:
  StudyTracker(Runtime& runtime, Wakeup& workers);
  ~StudyTracker() { stop(); }
  void start();
  void stop();
  void tick(double now);  // one pass; public for tests

 private:
  void apply_retention(double now);
  Runtime& runtime_;
  Wakeup& workers_;
  Wakeup wake_;
  std::thread thread_;
  double last_retention_ = 0;
};

// Runs analyse_folder on the analysed series of a study into results_dir/<study>/v<version>,
// then queues each result object for every destination that accepts its kind.
// Deletes a study's results folder, or, when `keep_summaries`, everything in it but each
// version's summary.json (what follow-up compares with); returns the summaries kept.
std::size_t purge_results_keeping_summaries(const std::filesystem::path& study_results,
                                            bool keep_summaries);

class WorkerPool {
 public:
  WorkerPool(Runtime& runtime, Wakeup& wake, Wakeup& exporter);
  ~WorkerPool() { stop(); }
  void start(int workers);
  void stop();  // lets running analyses finish

 private:
  void run();
  void process(const JobRow& job);
  Runtime& runtime_;
  Wakeup& wake_;
  Wakeup& exporter_;
  std::vector<std::thread> threads_;
};

// Sends due outbox rows with DCMTK's DcmSCU, one association per destination and pass.
// Delivered only on status 0000; otherwise retried after initial_backoff_s, doubling up to
// max_backoff_s, and dead after max_attempts (re-queue with StateStore::requeue_outbox).
class Exporter {
 public:
  Exporter(Runtime& runtime, Wakeup& wake);
  ~Exporter() { stop(); }
  void start();
  void stop();
  void pass(double now);  // one pass; public for tests

 private:
  Runtime& runtime_;
  Wakeup& wake_;
  std::thread thread_;
};

// The result kind of a DICOM object from its SOP Class UID: seg, sr, pdf or summary.
std::string result_kind_of_sop_class(const std::string& sop_class_uid);

}  // namespace livernode::node
