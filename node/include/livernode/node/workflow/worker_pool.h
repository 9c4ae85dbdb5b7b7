#pragma once
// The analysis workers: each claims the next job from the state store, analyses the series of
// its visit with study::analyse_folder and queues the result objects for delivery. The node's
// background stages (study tracker, workers, exporter) are linked only through the state store
// and each stops at a safe point: between two studies, jobs or deliveries.
//
// A watchdog fails an analysis still running after processing.job_time_limit_s (a stalled
// network file system, a program that never returns) and starts a new worker in place of the
// one that holds it, so that the studies queued behind it go on. The job's end is decided in
// the state store, once: should the abandoned worker finish after all, its results are
// discarded, never delivered, and the worker ends.
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "livernode/node/runtime.h"
#include "livernode/node/workflow/wakeup.h"

namespace livernode::node {

// Runs analyse_folder on the analysed series of a study into results_dir/<study>/v<version>,
// then queues each result object for every destination that accepts its kind.
class WorkerPool {
 public:
  WorkerPool(Runtime& runtime, Wakeup& wake, Wakeup& exporter);
  ~WorkerPool() { stop(); }
  void start(int workers);
  // Lets running analyses finish, those of abandoned workers too (a worker that never returns
  // holds the shutdown until the service manager ends the process).
  void stop();
  // One watchdog pass at `steady_seconds` (a steady clock): fails the jobs past the time limit
  // and replaces their workers. Returns the number of jobs failed; public for tests.
  int check_time_limits(double steady_seconds);

 private:
  struct Worker {
    std::thread thread;
    std::mutex mutex;
    std::optional<JobRow> job;  // the job being analysed
    double started = 0;         // steady seconds at its start
    bool abandoned = false;     // its job was failed at the time limit; it ends after it
  };
  void run(Worker& self);
  void process(const JobRow& job, Worker& self);
  void add_worker();
  Runtime& runtime_;
  Wakeup& wake_;
  Wakeup& exporter_;
  Wakeup watchdog_wake_;
  std::thread watchdog_;
  std::mutex workers_mutex_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace livernode::node
