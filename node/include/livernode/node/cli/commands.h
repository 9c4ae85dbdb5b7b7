#pragma once
// Entry points of the `livernode` command line, one per sub-command.
#include <string>
#include <vector>

namespace livernode::node {

// Process exit codes, shared by every sub-command.
enum ExitCode : int {
  kExitOk = 0,
  kExitBadInput = 2,   // unreadable input, invalid config, no usable series
  kExitUsage = 64,     // wrong command line
  kExitInternal = 70,  // a failure of ours
};

int run_analyze(const std::vector<std::string>& args);
int run_phantom(const std::vector<std::string>& args);
int run_check_config(const std::vector<std::string>& args);
int run_scan(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);

}  // namespace livernode::node
