// `livernode serve --config FILE`: the network node.
// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <signal.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/logger.h"
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/oflog/spi/logevent.h"
#include "livernode/config/loader.h"
#include "livernode/config/problem.h"
#include "livernode/node/cli/arguments.h"
#include "livernode/node/cli/commands.h"
#include "livernode/node/http/http_server.h"
#include "livernode/node/ingest/dicom_listener.h"
#include "livernode/node/ingest/ingest_journal.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/ingest/spool_recovery.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/node/workflow/exporter.h"
#include "livernode/node/workflow/study_tracker.h"
#include "livernode/node/workflow/worker_pool.h"
#include "livernode/version.h"

namespace livernode::node {

namespace fs = std::filesystem;

namespace {

constexpr int kRecoveryRetrySeconds = 10;
// Below this much free space on its file system, a state database that cannot be opened is
// waited for (a full disk) rather than a reason to exit.
constexpr std::int64_t kFullDiskMb = 16;

constexpr const char* kUsage =
    "Usage: livernode serve --config FILE\n"
    "Runs the DICOM node: C-ECHO/C-STORE SCP, durable spool and state database, study\n"
    "completion timers, analysis workers, result delivery by C-STORE and HTTP status endpoints.\n"
    "Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads logging, routing, study completion\n"
    "timers, destinations and delivery settings from FILE.\n";

spdlog::level::level_enum spdlog_level(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::trace:
      return spdlog::level::trace;
    case config::LogLevel::debug:
      return spdlog::level::debug;
    case config::LogLevel::info:
      return spdlog::level::info;
    case config::LogLevel::warn:
      return spdlog::level::warn;
    case config::LogLevel::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// %* in a pattern: the message escaped as the inside of a JSON string.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char* hex = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        for (char e : {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]}) dest.push_back(e);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// DCMTK's own log messages (oflog) into the node's log, in its format (text or JSON) instead
// of DCMTK's "E: ..." lines on standard error.
class DcmtkToSpdlog : public dcmtk::log4cplus::Appender {
 public:
  DcmtkToSpdlog() { name = "livernode"; }
  ~DcmtkToSpdlog() override { destructorImpl(); }
  void close() override { closed = true; }

 protected:
  void append(const dcmtk::log4cplus::spi::InternalLoggingEvent& event) override {
    std::string text = event.getMessage().c_str();
    for (char& c : text) {
      if (c == '\n' || c == '\r') c = ' ';
      if (c == '"') c = '\'';
    }
    const auto ll = event.getLogLevel();
    const auto level = ll >= dcmtk::log4cplus::ERROR_LOG_LEVEL  ? spdlog::level::err
                       : ll >= dcmtk::log4cplus::WARN_LOG_LEVEL ? spdlog::level::warn
                       : ll >= dcmtk::log4cplus::INFO_LOG_LEVEL ? spdlog::level::info
                                                                : spdlog::level::debug;
    spdlog::log(level, "event=dcmtk_message module={} message=\"{}\"",
                event.getLoggerName().c_str(), text);
  }
};

void setup_logging(const config::LoggingConfig& logging) {
  std::shared_ptr<spdlog::logger> logger;
  if (logging.file.empty()) {
    logger = std::make_shared<spdlog::logger>("livernode",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    logger = std::make_shared<spdlog::logger>(
        "livernode",
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(logging.file.string(), false));
  }
  if (logging.format == config::LogFormat::json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%*"})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog_level(logging.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  // DCMTK's own messages (to standard error) only for warnings, unless debugging.
  OFLog::configure(logging.level == config::LogLevel::trace   ? OFLogger::DEBUG_LOG_LEVEL
                   : logging.level == config::LogLevel::debug ? OFLogger::INFO_LOG_LEVEL
                                                              : OFLogger::WARN_LOG_LEVEL);
  dcmtk::log4cplus::Logger root = dcmtk::log4cplus::Logger::getRoot();
  root.removeAllAppenders();
  root.addAppender(dcmtk::log4cplus::SharedAppenderPtr(new DcmtkToSpdlog));
}

std::shared_ptr<const RuntimeConfig> make_runtime_config(const config::Config& c) {
  return std::make_shared<const RuntimeConfig>(c);
}

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

// What the last run left behind, made whole before instances are received: the ingest journal
// replayed into the spool, temp files of instances never acknowledged removed, analyses that
// were running queued again, the spool recorded in the state store. On a full disk a step may
// fail; the node then starts anyway and tries again until it completes.
struct StartupRecovery {
  bool journal_replayed = false;  // every record of the journal is in the spool
  bool complete = false;
  std::string problem;  // the first thing that failed
};

StartupRecovery recover_at_start(const config::Config& cfg, const fs::path& file, Runtime& runtime,
                                 const std::string& event) {
  StartupRecovery result;
  int requeued = 0;
  JournalReplay replay;
  std::size_t stale = 0;
  SpoolRecovery recovery;
  const Spool spool(cfg.storage.spool_dir);
  // The journal first: it may hold the only durable copy of the last instances received.
  try {
    replay = replay_journal(cfg.storage.spool_dir / ".journal", spool);
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
    requeued = runtime.store->requeue_unfinished_jobs();
    recovery = recover_spool(spool, *runtime.store, runtime.config.get()->router);
  } catch (const std::exception& e) {
    if (result.problem.empty()) result.problem = e.what();
  }
  result.complete = result.problem.empty();
  spdlog::info(
      "event={} version={} config={} state_db={} spool={} requeued_running_jobs={} "
      "journal_records={} restored_from_journal={} removed_temp_files={} spool_files={} "
      "recovered_instances={} unrecoverable_files={} recovery_complete={}",
      event, kVersion, file.string(), cfg.storage.state_db.string(), cfg.storage.spool_dir.string(),
      requeued, replay.records, replay.restored, stale, recovery.files_seen, recovery.recorded,
      recovery.skipped.size(), result.complete ? "yes" : "no");
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

// Opens the state database; on a full disk (it cannot make its write-ahead log) serves /healthz
// and a /readyz that says why not ready, and tries again every kRecoveryRetrySeconds until the
// database opens (returned) or the node is asked to stop (null). Any other failure throws.
std::shared_ptr<SqliteStateStore> open_state_store(const config::Config& cfg,
                                                   const sigset_t& signals) {
  std::string problem;
  try {
    return std::make_shared<SqliteStateStore>(cfg.storage.state_db);
  } catch (const std::exception& e) {
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
      auto store = std::make_shared<SqliteStateStore>(cfg.storage.state_db);
      spdlog::info("event=state_store_opened");
      return store;  // the HTTP server stops here; the node's own takes the port
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
}

}  // namespace

int run_serve(const std::vector<std::string>& raw) {
  fs::path file;
  try {
    Arguments args(raw, {"config"}, {"help"});
    if (args.flag("help") || !args.value("config") || !args.positional().empty()) {
      (args.flag("help") ? std::cout : std::cerr) << kUsage;
      return args.flag("help") ? kExitOk : kExitUsage;
    }
    file = *args.value("config");
  } catch (const std::invalid_argument& e) {
    std::cerr << "livernode serve: " << e.what() << "\n";
    return kExitUsage;
  }
  const auto loaded = config::load_config_file(file);
  if (!loaded.ok()) {
    for (const auto& p : loaded.problems)
      std::cerr << config::format_problem(p, file.string()) << "\n";
    std::cerr << file.string() << ": " << loaded.problems.size() << " problem(s)\n";
    return kExitBadInput;
  }
  const config::Config& cfg = loaded.config;
  setup_logging(cfg.logging);

  // Signals are taken by sigwait() in this thread only; every thread started below inherits
  // the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    for (const auto& dir : {cfg.storage.spool_dir, cfg.storage.results_dir})
      fs::create_directories(dir);
    auto store = open_state_store(cfg, signals);
    if (!store) {
      spdlog::default_logger()->flush();
      return kExitOk;
    }
    Runtime runtime(make_runtime_config(cfg), store);
    StartupRecovery recovered = recover_at_start(cfg, file, runtime, "node_starting");
    if (!recovered.complete) runtime.storage.recovery_pending(recovered.problem);

    // The journal's segments are written over only once every record in them is in the spool:
    // after a replay that failed (a full disk) the journal stays as it is for the next start,
    // and each instance is fsynced into the spool on its own meanwhile.
    std::unique_ptr<IngestJournal> journal;  // outlives the listeners, syncs the spool when it ends
    if (recovered.journal_replayed) {
      try {
        journal = std::make_unique<IngestJournal>(cfg.storage.spool_dir / ".journal");
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

    Wakeup worker_wake, exporter_wake;
    DicomListener listener(runtime);
    DicomListener tls_listener(runtime, true);
    StudyTracker tracker(runtime, worker_wake);
    WorkerPool workers(runtime, worker_wake, exporter_wake);
    Exporter exporter(runtime, exporter_wake);
    HttpServer http(runtime);
    if (!cfg.node.tls.only) listener.start();
    if (cfg.node.tls.enabled) tls_listener.start();
    if (cfg.http.enabled) http.start();
    // Analyses and deliveries start once the start-up recovery is complete.
    const auto start_background = [&] {
      tracker.start();
      workers.start(cfg.processing.workers);
      exporter.start();
    };
    if (recovered.complete) start_background();

    while (true) {
      int sig = 0;
      if (!runtime.storage.recovering()) {
        if (sigwait(&signals, &sig) != 0) continue;
      } else {
        const timespec wait{kRecoveryRetrySeconds, 0};
        sig = sigtimedwait(&signals, nullptr, &wait);
        if (sig < 0) {
          recovered = recover_at_start(cfg, file, runtime, "recovery_retried");
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
      break;
    }
    listener.stop();  // no new associations; those in progress finish their stores
    tls_listener.stop();
    tracker.stop();
    exporter.stop();  // between two deliveries
    workers.stop();   // after the running analyses; queued jobs stay queued for the next start
    http.stop();
    spdlog::info("event=node_stopped");
    spdlog::default_logger()->flush();
    return kExitOk;
  } catch (const StateStoreError& e) {
    spdlog::critical("event=node_failed error=\"{}\"", e.what());
    return kExitInternal;
  } catch (const std::exception& e) {
    spdlog::critical("event=node_failed error=\"{}\"", e.what());
    return kExitInternal;
  }
}

}  // namespace livernode::node
