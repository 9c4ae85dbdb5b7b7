#pragma once
// The state store the configuration names (storage.state_backend): every command that opens
// the node's state goes through here.
#include <memory>
#include <string>

#include "livernode/config/config.h"
#include "livernode/node/store/state_store.h"

namespace livernode::node {

// Opens the SQLite file storage.state_db or connects to the PostgreSQL database of
// storage.postgresql, bringing its schema up to date. Throws StateStoreError.
std::shared_ptr<StateStore> make_state_store(const config::StorageConfig& storage);

// Where the state is kept, for logs: the SQLite file, or "postgresql host=... dbname=..."
// (never a password).
std::string describe_state_store(const config::StorageConfig& storage);

}  // namespace livernode::node
