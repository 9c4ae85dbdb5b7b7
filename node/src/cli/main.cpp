// livernode: DICOM processing node for liver oncology imaging.
#include <spdlog/spdlog.h>

#include <iostream>
#include <string>
#include <vector>

#include "livernode/node/cli/commands.h"
#include "livernode/node/cli/huge_pages.h"
#include "livernode/version.h"

namespace {

void print_usage(std::ostream& os) {
  os << "livernode " << livernode::kVersion
     << " - DICOM processing node for liver oncology imaging\n"
     << "\n"
     << "Usage:\n"
     << "  livernode analyze DIR --out OUT      analyse the DICOM files under DIR, write results "
        "to OUT\n"
     << "  livernode scan DIR                   list the series found under DIR and the files "
        "rejected\n"
     << "  livernode phantom --out DIR [--seed N] [options]\n"
     << "                                       write a synthetic multi-phase CT study with ground "
        "truth\n"
     << "  livernode serve --config FILE        run the DICOM node (C-STORE SCP, spool, jobs, "
        "delivery, HTTP)\n"
     << "  livernode check-config FILE          validate a configuration file\n"
     << "  livernode version\n"
     << "\n"
     << "Run 'livernode COMMAND --help' for the options of a command.\n"
     << "Exit codes: 0 success, 2 bad input, 64 wrong usage, 69 network unavailable (a port\n"
        "taken), 70 internal error, 74 disk or state database refused.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace livernode::node;
  use_huge_pages_for_image_buffers(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "analyze" || command == "analyse") return run_analyze(args);
    if (command == "scan") return run_scan(args);
    if (command == "phantom") return run_phantom(args);
    if (command == "check-config") return run_check_config(args);
    if (command == "serve") return run_serve(args);
    if (command == "version" || command == "--version") {
      std::cout << livernode::kProductName << " " << livernode::kVersion << "\n";
      return kExitOk;
    }
  } catch (const NodeError& e) {
    spdlog::critical("event=command_failed command={} kind={} what=\"{}\"", command,
                     error_kind_name(e.kind()), e.what());
    return exit_code_of(e);
  } catch (const std::exception& e) {
    spdlog::critical("event=internal_error command={} what=\"{}\"", command, e.what());
    return kExitInternal;
  }
  std::cerr << "livernode: unknown command '" << command << "'\n\n";
  print_usage(std::cerr);
  return kExitUsage;
}
