#include <iostream>

#include "livernode/config/loader.h"
#include "livernode/config/problem.h"
#include "livernode/config/summary.h"
#include "livernode/node/cli/arguments.h"
#include "livernode/node/cli/commands.h"

namespace livernode::node {

int run_check_config(const std::vector<std::string>& raw) {
  try {
    Arguments args(raw, {}, {"help"});
    if (args.flag("help") || args.positional().size() != 1) {
      (args.flag("help") ? std::cout : std::cerr)
          << "Usage: livernode check-config FILE\n"
             "Validates FILE and prints every problem as FILE:LINE:COLUMN: key: message.\n"
             "Exit code 0 when the file is valid, 2 when it has problems.\n";
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
    return kExitOk;
  } catch (const std::invalid_argument& e) {
    std::cerr << "livernode check-config: " << e.what() << "\n";
    return kExitUsage;
  }
}

}  // namespace livernode::node
