#pragma once
// Entry points of the `livernode` command line, one per sub-command.
#include <string>
#include <vector>

#include "livernode/node/error.h"

namespace livernode::node {

// Process exit codes, shared by every sub-command.
enum ExitCode : int {
  kExitOk = 0,
  kExitBadInput = 2,      // unreadable input, invalid config, no usable series
  kExitUsage = 64,        // wrong command line
  kExitUnavailable = 69,  // a port taken, no network: may work when tried again
  kExitInternal = 70,     // a failure of ours
  kExitStorage = 74,      // the disk or the state database refused
};

// The exit code of a command that ends on `error`.
inline int exit_code_of(const NodeError& error) {
  switch (error.kind()) {
    case NodeErrorKind::kUsage:
      return kExitUsage;
    case NodeErrorKind::kInput:
    case NodeErrorKind::kConfig:
      return kExitBadInput;
    case NodeErrorKind::kNetwork:
      return kExitUnavailable;
    case NodeErrorKind::kStorage:
      return kExitStorage;
    case NodeErrorKind::kInternal:
      break;
  }
  return kExitInternal;
}

int run_analyze(const std::vector<std::string>& args);
int run_phantom(const std::vector<std::string>& args);
int run_check_config(const std::vector<std::string>& args);
int run_scan(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);

}  // namespace livernode::node
