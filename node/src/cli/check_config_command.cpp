#include <iostream>

#include "livernode/config/loader.h"
#include "livernode/config/problem.h"
#include "livernode/config/summary.h"
#include "livernode/node/cli/arguments.h"
#include "livernode/node/cli/commands.h"
#include "livernode/node/error.h"
#include "livernode/node/store/postgres_state_store.h"

namespace livernode::node {

int run_check_config(const std::vector<std::string>& raw) {
  try {
    Arguments args(raw, {}, {"help", "offline"});
    if (args.flag("help") || args.positional().size() != 1) {
      (args.flag("help") ? std::cout : std::cerr)
          << "Usage: livernode check-config [--offline] FILE\n"
             "Validates FILE and prints every problem as FILE:LINE:COLUMN: key: message.\n"
             "With storage.state_backend postgresql, also connects to the database (changing\n"
             "nothing) and says whether it could; --offline skips that.\n"
             "Exit code 0 when the file is valid, 2 when it has problems or the database\n"
             "cannot be reached.\n";
      return args.flag("help") ? kExitOk : kExitUsage;
    }
    const std::string file = args.positional()[0];
    const config::LoadResult result = config::load_config_file(file);
    if (!result.ok()) {
      for (const auto& p : result.problems) std::cerr << config::format_problem(p, file) << "\n";
      std::cerr << file << ": " << result.problems.size() << " problem(s)\n";
      return kExitBadInput;
    }
    std::cout << file << ": OK\n" << config::summarize(result.config) << "\n";
    const auto& storage = result.config.storage;
    if (storage.state_backend != config::StateBackend::postgresql || args.flag("offline"))
      return kExitOk;
    try {
      const auto probe =
          PostgresStateStore::probe(storage.postgresql.conninfo, storage.postgresql.password);
      std::cout << "State database: connected to PostgreSQL " << probe.server_version << " ("
                << probe.server << "), ";
      if (probe.schema_version == 0)
        std::cout << "no livernode tables yet (serve creates them)\n";
      else
        std::cout << "schema version " << probe.schema_version << " (this release writes "
                  << PostgresStateStore::current_schema_version() << ")\n";
      return kExitOk;
    } catch (const StateStoreError& e) {
      std::cerr << file << ": storage.postgresql: " << e.what() << "\n";
      return kExitBadInput;
    }
  } catch (const NodeError& e) {
    std::cerr << "livernode check-config: " << e.what() << "\n";
    return exit_code_of(e);
  }
}

}  // namespace livernode::node
