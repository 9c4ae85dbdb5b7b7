#include "serve_startup.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <exception>

#include "livernode/node/http/http_server.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/ingest/spool_recovery.h"
#include "livernode/version.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

// Below this much free space on its file system, a state database that cannot be opened is
// waited for (a full disk) rather than a reason to exit.
constexpr std::int64_t kFullDiskMb = 16;

}  // namespace

std::shared_ptr<const RuntimeConfig> make_runtime_config(const config::Config& c) {
  return std::make_shared<const RuntimeConfig>(c);
}

StartupRecovery recover_at_start(const config::Config& cfg, const fs::path& file, Runtime& runtime,
                                 const std::string& event) {
  StartupRecovery result;
  int requeued = 0;
  JournalReplay replay;
  std::size_t stale = 0;
  SpoolRecovery recovery;
  double walk_seconds = 0;
  const Spool spool(cfg.storage.spool_dir);
  // The journal first: it may hold the only durable copy of the last instances received.
  try {
    replay = replay_journal(config::journal_dir(cfg.storage), spool);
  } catch (const std::exception& e) {
    replay.problems.push_back(e.what());
  }
  // Each record that failed is named once; a retry's summary counts them.
  if (event == "node_starting")
    for (const auto& problem : replay.problems)
      spdlog::error("event=journal_replay_failed error=\"{}\"", problem);
  result.journal_replayed = replay.problems.empty();
  if (!result.journal_replayed)
    result.problem = std::to_string(replay.problems.size()) +
                     " ingest journal record(s) could not be restored into the spool: " +
                     replay.problems.front();
  try {
    stale = spool.remove_stale_temp_files();
    // This node's own jobs and deliveries, left by its previous process; those of other nodes
    // sharing the state are theirs, or taken over once their leases run out.
    requeued = runtime.store->requeue_unfinished_jobs(config::node_name(cfg.node));
    const auto walk_start = std::chrono::steady_clock::now();
    recovery = recover_spool(spool, *runtime.store, runtime.config.get()->router);
    walk_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - walk_start).count();
  } catch (const std::exception& e) {
    if (result.problem.empty()) result.problem = e.what();
  }
  result.complete = result.problem.empty();
  spdlog::info(
      "event={} version={} node={} config={} state_backend={} state={} spool={} "
      "requeued_running_jobs={} "
      "journal_records={} restored_from_journal={} removed_temp_files={} spool_files={} "
      "spool_walk_s={:.1f} recovered_instances={} unrecoverable_files={} recovery_complete={}",
      event, kVersion, config::node_name(cfg.node), file.string(),
      config::to_string(cfg.storage.state_backend), describe_state_store(cfg.storage),
      cfg.storage.spool_dir.string(), requeued, replay.records, replay.restored, stale,
      recovery.files_seen, walk_seconds, recovery.recorded, recovery.skipped.size(),
      result.complete ? "yes" : "no");
  if (!result.complete) {
    std::string problem = result.problem;
    for (char& c : problem)
      if (c == '"' || c == '\n') c = c == '"' ? '\'' : ' ';
    spdlog::error(
        "event=recovery_incomplete error=\"{}\" note=\"free disk space; until the recovery "
        "completes (tried again every {} s) associations are refused as rejected transient, "
        "no analysis or delivery runs, /healthz answers and /readyz says not ready\"",
        problem, kRecoveryRetrySeconds);
  }
  return result;
}

std::shared_ptr<StateStore> open_state_store(const config::Config& cfg, const sigset_t& signals) {
  std::string problem;
  try {
    return make_state_store(cfg.storage);
  } catch (const std::exception& e) {
    // A database server's failures are its own: only a local file waits for disk space.
    if (cfg.storage.state_backend != config::StateBackend::sqlite) throw;
    const auto free_mb = free_disk_mb(cfg.storage.state_db.parent_path());
    if (free_mb < 0 || free_mb >= kFullDiskMb) throw;
    problem = e.what();
  }
  Runtime runtime(make_runtime_config(cfg), nullptr);
  HttpServer http(runtime);
  if (cfg.http.enabled) http.start();
  while (true) {
    runtime.storage.recovery_pending("state database cannot be opened: " + problem);
    spdlog::error(
        "event=state_store_unavailable error=\"{}\" note=\"less than {} MiB free; free disk "
        "space; tried again every {} s; /healthz answers, /readyz says not ready, nothing is "
        "received\"",
        problem, kFullDiskMb, kRecoveryRetrySeconds);
    const timespec wait{kRecoveryRetrySeconds, 0};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("event=node_stopped note=\"the state database never opened\"");
      return nullptr;
    }
    try {
      auto store = make_state_store(cfg.storage);
      spdlog::info("event=state_store_opened");
      return store;  // the HTTP server stops here; the node's own takes the port
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
}

std::unique_ptr<IngestJournal> open_journal(const config::Config& cfg, bool journal_replayed,
                                            Runtime& runtime) {
  // The journal's segments are written over only once every record in them is in the spool:
  // after a replay that failed (a full disk) the journal stays as it is for the next start,
  // and each instance is fsynced into the spool on its own meanwhile.
  std::unique_ptr<IngestJournal> journal;
  if (journal_replayed) {
    try {
      journal = std::make_unique<IngestJournal>(config::journal_dir(cfg.storage));
    } catch (const std::exception& e) {
      spdlog::error(
          "event=journal_disabled error=\"{}\" note=\"instances are fsynced one by "
          "one\"",
          e.what());
    }
  } else {
    spdlog::warn(
        "event=journal_disabled reason=\"records not yet restored into the spool\" "
        "note=\"instances are fsynced one by one; the journal is replayed at the next start\"");
  }
  if (journal) {
    runtime.journal = journal.get();
    // A fresh journal writes its segments first (some 100 MiB): the port opens after that,
    // so that the first instances are not received while the disk is busy with it.
    const auto t0 = std::chrono::steady_clock::now();
    const bool ready = journal->wait_ready(std::chrono::seconds(60));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (ready)
      spdlog::info("event=journal_ready seconds={:.2f}", seconds);
    else
      spdlog::warn(
          "event=journal_not_ready seconds={:.2f} note=\"instances are fsynced one by "
          "one until its segments are written\"",
          seconds);
  }
  return journal;
}

}  // namespace livernode::node
