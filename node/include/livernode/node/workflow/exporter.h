#pragma once
// The exporter: result objects from the outbox to each destination (its own thread).
#include <string>
#include <thread>

#include "livernode/node/runtime.h"
#include "livernode/node/workflow/wakeup.h"

namespace livernode::node {

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

}  // namespace livernode::node
