#pragma once
// The analysis workers: each claims the next job from the state store, analyses the series of
// its visit with study::analyse_folder and queues the result objects for delivery. The node's
// background stages (study tracker, workers, exporter) are linked only through the state store
// and each stops at a safe point: between two studies, jobs or deliveries.
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
  void stop();  // lets running analyses finish

 private:
  void run();
  void process(const JobRow& job);
  Runtime& runtime_;
  Wakeup& wake_;
  Wakeup& exporter_;
  std::vector<std::thread> threads_;
};

}  // namespace livernode::node
