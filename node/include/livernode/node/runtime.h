#pragma once
// What the parts of a running node share: the current configuration (replaced as a whole on
// SIGHUP), the state store, and the counters behind /metrics.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "livernode/config/config.h"
#include "livernode/node/routing.h"
#include "livernode/node/state_store.h"

namespace livernode::node {

class IngestJournal;

// Seconds since the Unix epoch.
inline double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct RuntimeConfig {
  explicit RuntimeConfig(config::Config c) : config(std::move(c)), router(config.routing) {}
  config::Config config;
  Router router;
};

class ConfigHolder {
 public:
  explicit ConfigHolder(std::shared_ptr<const RuntimeConfig> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const RuntimeConfig> get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void set(std::shared_ptr<const RuntimeConfig> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const RuntimeConfig> current_;
};

struct Metrics {
  std::atomic<std::uint64_t> associations_accepted{0};
  std::atomic<std::uint64_t> associations_rejected{0};
  std::atomic<std::uint64_t> associations_receive_failed{0};  // no valid A-ASSOCIATE-RQ read
  std::atomic<std::uint64_t> instances_received{0};   // newly stored
  std::atomic<std::uint64_t> instances_duplicate{0};  // re-sent, already stored
  std::atomic<std::uint64_t> instances_failed{0};     // answered with a failure status
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> jobs_started{0};
  std::atomic<std::uint64_t> analysis_seconds_millis{0};  // sum over finished jobs
  std::atomic<std::uint64_t> analyses_finished{0};
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> delivery_retries{0};
  std::atomic<std::uint64_t> dead_letters{0};
};

struct Runtime {
  Runtime(std::shared_ptr<const RuntimeConfig> config, std::shared_ptr<StateStore> store_)
      : config(std::move(config)), store(std::move(store_)) {}
  ConfigHolder config;
  std::shared_ptr<StateStore> store;
  Metrics metrics;
  IngestJournal* journal = nullptr;  // makes received instances durable; null: fsync each file
  std::atomic<bool> scp_listening{false};
  std::atomic<bool> draining{false};
};

}  // namespace livernode::node
