#pragma once
// What the parts of a running node share: the current configuration (replaced as a whole on
// SIGHUP), the state store, and the counters behind /metrics.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "livernode/config/config.h"
#include "livernode/node/ingest/routing.h"
#include "livernode/node/store/state_store.h"

namespace livernode::node {

class IngestJournal;

// Seconds since the Unix epoch.
inline double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// This node as it claims jobs and deliveries: node.name, held for node.lease_s.
inline Claimant claimant_of(const config::Config& c) {
  return Claimant{config::node_name(c.node), static_cast<double>(c.node.lease_s)};
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
  std::atomic<std::uint64_t> instances_received{0};           // newly stored
  std::atomic<std::uint64_t> instances_duplicate{0};          // re-sent, already stored
  std::atomic<std::uint64_t> instances_failed{0};             // answered with a failure status
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> jobs_started{0};
  std::atomic<std::uint64_t> analysis_seconds_millis{0};  // sum over finished jobs
  std::atomic<std::uint64_t> analyses_finished{0};
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> delivery_retries{0};
  std::atomic<std::uint64_t> dead_letters{0};
  std::atomic<std::uint64_t> jobs_taken_over{0};  // from a node whose lease ran out
  std::atomic<std::uint64_t> jobs_lost{0};        // finished after another node took them over
  std::atomic<std::uint64_t> jobs_timed_out{0};   // failed at processing.job_time_limit_s
};

// Whether received instances can be stored, and why not. On a full disk the start-up recovery
// (journal replay, spool walk) may not complete: the node then starts anyway, serves /healthz,
// refuses associations as "rejected transient" and tries the recovery again. Once a spool file
// cannot be written, no instance is acknowledged on the strength of a journal record alone:
// each is written into the spool and fsynced first, and refused (A700) when that fails too; the
// first that succeeds ends this state. A state store row that cannot be committed is recovered
// from the spool at the next start. /readyz reports all three.
class StorageState {
 public:
  // Each returns true when it changed the state (the caller logs the change).
  bool recovery_pending(std::string why) { return set(recovering_, recovery_why_, std::move(why)); }
  bool recovery_done() { return clear(recovering_, recovery_why_); }
  bool spool_failed(std::string why) { return set(spool_failing_, spool_why_, std::move(why)); }
  bool spool_written() { return clear(spool_failing_, spool_why_); }
  bool store_failed(std::string why) { return set(store_failing_, store_why_, std::move(why)); }
  bool store_written() { return clear(store_failing_, store_why_); }

  // Instances acknowledged on the strength of their journal record whose spool files are still
  // to be written (by the associations' indexing threads): the disk must hold them as well as
  // the next one before that is acknowledged the same way.
  void spool_backlog_add(std::int64_t bytes) {
    backlog_files_ += 1;
    backlog_bytes_ += bytes;
  }
  void spool_backlog_remove(std::int64_t bytes) {
    backlog_files_ -= 1;
    backlog_bytes_ -= bytes;
  }
  std::int64_t spool_backlog_files() const { return backlog_files_; }
  std::int64_t spool_backlog_bytes() const { return backlog_bytes_; }

  bool recovering() const { return recovering_; }
  bool spool_failing() const { return spool_failing_; }
  bool ok() const { return !recovering_ && !spool_failing_ && !store_failing_; }
  // Why associations are refused; empty while they are accepted.
  std::string refusal() const {
    if (!recovering_) return {};
    std::lock_guard lock(mutex_);
    return "start-up recovery incomplete: " + recovery_why_;
  }
  // "recovered=1 spool=1 store_writes=1", then the first problem, for /readyz.
  std::string describe() const {
    std::lock_guard lock(mutex_);
    std::string text = std::string("recovered=") + (recovering_ ? "0" : "1") +
                       " spool=" + (spool_failing_ ? "0" : "1") +
                       " store_writes=" + (store_failing_ ? "0" : "1");
    const std::string& why = recovering_ ? recovery_why_ : spool_failing_ ? spool_why_ : store_why_;
    if (!why.empty()) text += " problem=\"" + why + "\"";
    return text;
  }

 private:
  bool set(std::atomic<bool>& flag, std::string& why, std::string reason) {
    std::lock_guard lock(mutex_);
    why = std::move(reason);
    return !flag.exchange(true);
  }
  bool clear(std::atomic<bool>& flag, std::string& why) {
    if (!flag) return false;
    std::lock_guard lock(mutex_);
    why.clear();
    return flag.exchange(false);
  }
  mutable std::mutex mutex_;
  std::atomic<bool> recovering_{false}, spool_failing_{false}, store_failing_{false};
  std::atomic<std::int64_t> backlog_files_{0}, backlog_bytes_{0};
  std::string recovery_why_, spool_why_, store_why_;
};

// Instances acknowledged to their sender but not yet recorded in the state store (still in an
// association's indexing queue), counted by study. The study tracker does not ready a study
// while any of its instances are on their way, so no analysis starts without an instance the
// node has already acknowledged. (On a state shared by several nodes each node knows only its
// own: an instance another node records late reopens the study, which then runs again.)
class InFlightInstances {
 public:
  void add(const std::string& study_uid) {
    std::lock_guard lock(mutex_);
    ++count_[study_uid];
  }
  void done(const std::string& study_uid) {
    std::lock_guard lock(mutex_);
    const auto it = count_.find(study_uid);
    if (it == count_.end()) return;
    if (--it->second == 0) count_.erase(it);
  }
  std::size_t of(const std::string& study_uid) const {
    std::lock_guard lock(mutex_);
    const auto it = count_.find(study_uid);
    return it == count_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::size_t> count_;
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
  StorageState storage;
  InFlightInstances in_flight;
};

}  // namespace livernode::node
