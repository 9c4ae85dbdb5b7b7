// The state store suites of tests/store/ on the embedded SQLite backend (on PostgreSQL:
// tests/integration/test_state_store_postgresql.cpp).
#include "state_store_backends.h"

namespace livernode::test {

LIVERNODE_STATE_STORE_SUITES(SQLite, "sqlite");

}  // namespace livernode::test
