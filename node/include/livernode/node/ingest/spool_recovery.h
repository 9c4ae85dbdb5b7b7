#pragma once
// The spool is the record of what was received: an instance is acknowledged only once it is on
// stable storage (its file fsynced, or restored from the ingest journal before this walk runs),
// while its row in the state store is committed without waiting for the disk (see
// SqliteStateStore::record_instance). After a power failure the last
// rows may be missing; at start-up the node walks the spool and records every instance file the
// store does not know, with the routing decision the current rules give it (a SEG is again
// recognised as a correction, which queues its job, exactly as on receipt). The calling AE title
// comes from the file's meta header (Source Application Entity Title, written on receipt).
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "livernode/node/ingest/routing.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/store/state_store.h"

class DcmFileFormat;

namespace livernode::node {

// Fills the record's UIDs, SOP class, modality, body part, series description and patient ID
// from a received or spooled object (the same fields on receipt and on recovery).
void describe_instance(DcmFileFormat& file, InstanceRecord& record);

struct SpoolRecovery {
  std::size_t files_seen = 0;        // instance files in the spool
  std::size_t recorded = 0;          // files the state store did not know, now recorded
  std::vector<std::string> skipped;  // files left in place, each with the reason
};

SpoolRecovery recover_spool(const Spool& spool, StateStore& store, const Router& router);

}  // namespace livernode::node
