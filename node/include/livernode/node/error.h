#pragma once
// The node room's error type: a sentence saying what went wrong (with the file, address, option
// or UID concerned) and what kind of failure it is. The kind decides how the caller reacts: a
// command's exit code, refusing one instance rather than stopping the node.
#include <stdexcept>
#include <string>

namespace livernode::node {

enum class NodeErrorKind {
  kUsage,     // the command line is wrong (unknown option, missing value)
  kInput,     // what was given cannot be used (a hostile UID, an instance that cannot be stored)
  kConfig,    // the configuration cannot work as written (an address, a TLS key)
  kNetwork,   // a socket could not be set up (the port is taken, no network)
  kStorage,   // the disk or the state database refused (spool, ingest journal, state store)
  kInternal,  // a failure of ours
};

inline const char* error_kind_name(NodeErrorKind kind) {
  switch (kind) {
    case NodeErrorKind::kUsage:
      return "usage";
    case NodeErrorKind::kInput:
      return "input";
    case NodeErrorKind::kConfig:
      return "config";
    case NodeErrorKind::kNetwork:
      return "network";
    case NodeErrorKind::kStorage:
      return "storage";
    case NodeErrorKind::kInternal:
      break;
  }
  return "internal";
}

class NodeError : public std::runtime_error {
 public:
  NodeError(NodeErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  NodeErrorKind kind() const { return kind_; }

 private:
  NodeErrorKind kind_;
};

}  // namespace livernode::node
