#include "livernode/node/store/make_state_store.h"

#include "livernode/node/store/postgres_state_store.h"
#include "livernode/node/store/sqlite_state_store.h"

namespace livernode::node {

std::shared_ptr<StateStore> make_state_store(const config::StorageConfig& storage) {
  switch (storage.state_backend) {
    case config::StateBackend::postgresql:
      return std::make_shared<PostgresStateStore>(storage.postgresql.conninfo,
                                                  storage.postgresql.password);
    case config::StateBackend::sqlite:
      break;
  }
  return std::make_shared<SqliteStateStore>(storage.state_db);
}

std::string describe_state_store(const config::StorageConfig& storage) {
  if (storage.state_backend == config::StateBackend::postgresql)
    return "postgresql " + config::masked_conninfo(storage.postgresql.conninfo);
  return storage.state_db.string();
}

}  // namespace livernode::node
