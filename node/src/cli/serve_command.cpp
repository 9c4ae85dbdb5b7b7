// `livernode serve --config FILE`: the network node.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <iostream>
#include <optional>

#include "livernode/config/loader.h"
#include "livernode/config/problem.h"
#include "livernode/node/cli/arguments.h"
#include "livernode/node/cli/commands.h"
#include "livernode/node/error.h"
#include "livernode/node/http/http_server.h"
#include "livernode/node/ingest/dicom_listener.h"
#include "livernode/node/workflow/exporter.h"
#include "livernode/node/workflow/heartbeat.h"
#include "livernode/node/workflow/study_tracker.h"
#include "livernode/node/workflow/worker_pool.h"
#include "logging_setup.h"
#include "serve_startup.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "Usage: livernode serve --config FILE\n"
    "Runs the DICOM node: C-ECHO/C-STORE SCP, durable spool and state database, study\n"
    "completion timers, analysis workers, result delivery by C-STORE and HTTP status endpoints.\n"
    "Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads logging, routing, study completion\n"
    "timers, destinations and delivery settings from FILE.\n";

// SIGHUP: the parts that can change while running are taken from the file; the rest keeps
// its running value and is named in the log as needing a restart.
void reload(Runtime& runtime, const fs::path& file) {
  const auto loaded = config::load_config_file(file);
  if (!loaded.ok()) {
    for (const auto& p : loaded.problems)
      spdlog::error("event=reload_rejected problem=\"{}\"",
                    config::format_problem(p, file.string()));
    spdlog::error(
        "event=reload_rejected file={} problems={} note=\"keeping the running configuration\"",
        file.string(), loaded.problems.size());
    return;
  }
  const auto old = runtime.config.get();
  config::Config next = old->config;
  next.logging = loaded.config.logging;
  next.routing = loaded.config.routing;
  next.study_completion = loaded.config.study_completion;
  next.destinations = loaded.config.destinations;
  next.delivery = loaded.config.delivery;
  next.node.allowed_callers = loaded.config.node.allowed_callers;
  next.storage.min_free_disk_mb = loaded.config.storage.min_free_disk_mb;
  next.storage.retention_days = loaded.config.storage.retention_days;
  next.storage.unrouted_retention_hours = loaded.config.storage.unrouted_retention_hours;
  next.storage.summary_retention_days = loaded.config.storage.summary_retention_days;
  next.http.token = loaded.config.http.token;
  next.clinical = loaded.config.clinical;
  setup_logging(next.logging);
  runtime.config.set(make_runtime_config(next));
  spdlog::info(
      "event=config_reloaded file={} destinations={} rules={} applied=\"logging, routing, "
      "study_completion, destinations, delivery, node.allowed_callers, storage.min_free_disk_mb, "
      "storage retention, http.token, clinical\" restart_needed_for=\"node (except "
      "allowed_callers), "
      "storage paths, http address and port, processing\"",
      file.string(), next.destinations.size(), next.routing.rules.size());
}

// The configuration file named on the command line; none, with the exit code set, for --help
// and for a wrong command line.
std::optional<fs::path> config_file_of(const std::vector<std::string>& raw, int& exit_code) {
  try {
    Arguments args(raw, {"config"}, {"help"});
    if (args.flag("help") || !args.value("config") || !args.positional().empty()) {
      (args.flag("help") ? std::cout : std::cerr) << kUsage;
      exit_code = args.flag("help") ? kExitOk : kExitUsage;
      return std::nullopt;
    }
    return fs::path(*args.value("config"));
  } catch (const NodeError& e) {
    std::cerr << "livernode serve: " << e.what() << "\n";
    exit_code = exit_code_of(e);
    return std::nullopt;
  }
}

// Signals are taken by sigwait() in this thread only; every thread started after this inherits
// the blocked mask.
sigset_t block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return signals;
}

// Waits for SIGTERM or SIGINT (then the node drains) and reloads the configuration on SIGHUP.
// While the start-up recovery is incomplete it is tried again every kRecoveryRetrySeconds, and
// `start_background` runs once it completes.
void wait_for_stop(const config::Config& cfg, const fs::path& file, Runtime& runtime,
                   const sigset_t& signals, Wakeup& exporter_wake,
                   const std::function<void()>& start_background) {
  while (true) {
    int sig = 0;
    if (!runtime.storage.recovering()) {
      if (sigwait(&signals, &sig) != 0) continue;
    } else {
      const timespec wait{kRecoveryRetrySeconds, 0};
      sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig < 0) {
        const StartupRecovery recovered = recover_at_start(cfg, file, runtime, "recovery_retried");
        if (recovered.complete) {
          runtime.storage.recovery_done();
          spdlog::info("event=recovery_complete note=\"accepting associations\"");
          start_background();
        } else {
          runtime.storage.recovery_pending(recovered.problem);
        }
        continue;
      }
    }
    if (sig == SIGHUP) {
      reload(runtime, file);
      exporter_wake.notify();
      continue;
    }
    spdlog::info("event=node_draining signal={}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    runtime.draining = true;
    return;
  }
}

// The node's parts: started (analyses and deliveries once the start-up recovery is complete),
// serving until a stop signal, then stopped in order.
void serve(const config::Config& cfg, const fs::path& file, Runtime& runtime,
           bool recovery_complete, const sigset_t& signals) {
  Wakeup worker_wake, exporter_wake;
  DicomListener listener(runtime);
  DicomListener tls_listener(runtime, true);
  StudyTracker tracker(runtime, worker_wake);
  WorkerPool workers(runtime, worker_wake, exporter_wake);
  Exporter exporter(runtime, exporter_wake);
  HttpServer http(runtime);
  Heartbeat heartbeat(runtime);
  heartbeat.start();  // before any job or delivery is claimed; stopped after the last ends
  if (!cfg.node.tls.only) listener.start();
  if (cfg.node.tls.enabled) tls_listener.start();
  if (cfg.http.enabled) http.start();
  const auto start_background = [&] {
    tracker.start();
    workers.start(cfg.processing.workers);
    exporter.start();
  };
  if (recovery_complete) start_background();
  wait_for_stop(cfg, file, runtime, signals, exporter_wake, start_background);
  listener.stop();  // no new associations; those in progress finish their stores
  tls_listener.stop();
  tracker.stop();
  exporter.stop();  // between two deliveries
  workers.stop();   // after the running analyses; queued jobs stay queued for the next start
  heartbeat.stop();
  http.stop();
  spdlog::info("event=node_stopped");
  spdlog::default_logger()->flush();
}

}  // namespace

int run_serve(const std::vector<std::string>& raw) {
  int exit_code = kExitOk;
  const std::optional<fs::path> file = config_file_of(raw, exit_code);
  if (!file) return exit_code;
  const auto loaded = config::load_config_file(*file);
  if (!loaded.ok()) {
    for (const auto& p : loaded.problems)
      std::cerr << config::format_problem(p, file->string()) << "\n";
    std::cerr << file->string() << ": " << loaded.problems.size() << " problem(s)\n";
    return kExitBadInput;
  }
  const config::Config& cfg = loaded.config;
  setup_logging(cfg.logging);
  const sigset_t signals = block_signals();

  try {
    for (const auto& dir : {cfg.storage.spool_dir, cfg.storage.results_dir})
      fs::create_directories(dir);
    auto store = open_state_store(cfg, signals);
    if (!store) {
      spdlog::default_logger()->flush();
      return kExitOk;
    }
    Runtime runtime(make_runtime_config(cfg), store);
    const StartupRecovery recovered = recover_at_start(cfg, *file, runtime, "node_starting");
    if (!recovered.complete) runtime.storage.recovery_pending(recovered.problem);
    // Outlives the listeners, syncs the spool when it ends.
    const std::unique_ptr<IngestJournal> journal =
        open_journal(cfg, recovered.journal_replayed, runtime);
    serve(cfg, *file, runtime, recovered.complete, signals);
    return kExitOk;
  } catch (const NodeError& e) {
    spdlog::critical("event=node_failed kind={} error=\"{}\"", error_kind_name(e.kind()), e.what());
    return exit_code_of(e);
  } catch (const std::exception& e) {
    spdlog::critical("event=node_failed error=\"{}\"", e.what());
    return kExitInternal;
  }
}

}  // namespace livernode::node
