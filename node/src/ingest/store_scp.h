#pragma once
// One association of the DICOM listener, on the connection's thread.
//
// Association policy: the called AE title must be ours; the caller must match an entry of
// node.allowed_callers (calling AE title and/or source address, CIDR allowed) and get an
// association slot; below storage.min_free_disk_mb, during an incomplete start-up recovery or
// while draining, associations are rejected as transient. A C-STORE is answered 0000 once the
// instance is on stable storage (a record in the ingest journal, or its spool file and folder
// fsynced); its spool file and row are written by the association's InstanceIndexer. Failures
// answer A700 (out of resources) or C000 (cannot understand: missing or invalid UIDs).
// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <memory>

#include "connection_table.h"
#include "dcmtk/dcmnet/scpthrd.h"
#include "livernode/node/runtime.h"

namespace livernode::node {

// The SCP serving one association of `connection`, whose slot it takes from `table`.
std::unique_ptr<DcmThreadSCP> make_store_scp(Runtime& runtime, Connection& connection,
                                             ConnectionTable& table);

}  // namespace livernode::node
