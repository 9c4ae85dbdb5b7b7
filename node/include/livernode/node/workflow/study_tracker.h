#pragma once
// The study tracker: completion timers, visits and retention (its own thread).
#include <filesystem>
#include <thread>

#include "livernode/node/runtime.h"
#include "livernode/node/workflow/wakeup.h"

namespace livernode::node {

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

// Deletes a study's results folder, or, when `keep_summaries`, everything in it but each
// version's summary.json (what follow-up compares with); returns the summaries kept.
std::size_t purge_results_keeping_summaries(const std::filesystem::path& study_results,
                                            bool keep_summaries);

}  // namespace livernode::node
