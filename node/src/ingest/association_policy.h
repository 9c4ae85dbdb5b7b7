#pragma once
// Who may associate with the listener, and when: the rules of store_scp.h's association policy
// that do not depend on DCMTK.
#include <string>
#include <vector>

#include "livernode/config/config.h"
#include "livernode/node/runtime.h"

namespace livernode::node {

struct Refusal {
  std::string reason;      // empty: not refused
  bool transient = false;  // answered "rejected transient, temporary congestion"
};

// Why a new association is refused before its AE titles are looked at: the node is shutting
// down, the start-up recovery is incomplete, the free disk is below storage.min_free_disk_mb
// (all transient), or the connection arrived on another address than node.bind_address.
Refusal association_refusal(Runtime& runtime, const std::string& local_address);

// Whether calling AE title `ae` from `peer` matches an entry of node.allowed_callers (AE title
// and/or source address, CIDR allowed); with no entry, every caller does.
bool caller_allowed(const std::vector<config::AllowedCaller>& allowed, const std::string& ae,
                    const std::string& peer);

// The local address a connected socket was reached on, as text; empty when unknown.
std::string local_address_of(int fd);

}  // namespace livernode::node
