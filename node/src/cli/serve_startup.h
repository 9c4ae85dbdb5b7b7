#pragma once
// The start of `livernode serve`: the state database opened (waited for on a full disk), what
// the last run left behind made whole, and the ingest journal opened.
#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>

#include "livernode/config/config.h"
#include "livernode/node/ingest/ingest_journal.h"
#include "livernode/node/runtime.h"
#include "livernode/node/store/make_state_store.h"

namespace livernode::node {

// An incomplete start-up recovery, and a state database that cannot be opened on a full disk,
// are tried again this often.
constexpr int kRecoveryRetrySeconds = 10;

std::shared_ptr<const RuntimeConfig> make_runtime_config(const config::Config& c);

// What the last run left behind, made whole before instances are received: the ingest journal
// replayed into the spool, temp files of instances never acknowledged removed, analyses that
// were running queued again, the spool recorded in the state store. On a full disk a step may
// fail; the node then starts anyway and tries again until it completes.
struct StartupRecovery {
  bool journal_replayed = false;  // every record of the journal is in the spool
  bool complete = false;
  std::string problem;  // the first thing that failed
};

// Runs the recovery and logs it as `event` (node_starting, recovery_retried); `file` is the
// configuration file, for the log.
StartupRecovery recover_at_start(const config::Config& cfg, const std::filesystem::path& file,
                                 Runtime& runtime, const std::string& event);

// Opens the state store the configuration names (make_state_store); for a SQLite file, on a full
// disk (it cannot make its write-ahead log) serves /healthz and a /readyz that says why not ready,
// and tries again every kRecoveryRetrySeconds until the database opens (returned) or the node is
// asked to stop (null). Any other failure throws. `signals` are the blocked signals the wait takes.
std::shared_ptr<StateStore> open_state_store(const config::Config& cfg, const sigset_t& signals);

// The ingest journal in the spool, ready (its segments written ahead) before the port opens,
// and set as runtime.journal. Null, with the reason logged, when the replay left records to
// restore (`journal_replayed` false) or the journal cannot be opened: each instance is then
// fsynced into the spool on its own.
std::unique_ptr<IngestJournal> open_journal(const config::Config& cfg, bool journal_replayed,
                                            Runtime& runtime);

}  // namespace livernode::node
