#pragma once
// The state store suites (tests/store/) run on every backend: each test program instantiates
// them with the backends it can run (the unit tests on SQLite, the integration tests on a
// throwaway PostgreSQL server), see LIVERNODE_STATE_STORE_SUITES.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "livernode/node/store/state_store.h"

namespace livernode::test {

// The parameter is the backend's name as storage.state_backend spells it.
class StateStoreBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  // A fresh, empty place for this test's state: a SQLite file in a temporary folder, or a new
  // database on the program's PostgreSQL server (skipped when its programs are not installed).
  void SetUp() override;
  void TearDown() override;
  // A store on this test's state; a second call opens the same state again (a restart).
  std::unique_ptr<node::StateStore> open();
  // The schema version of the database behind `store` (one this fixture opened).
  int schema_version(node::StateStore& store);
  // The PostgreSQL connection string of this test's database (backend postgresql).
  const std::string& conninfo() const { return conninfo_; }
  // A temporary folder for the test's files (spool, results), removed at the end.
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::string conninfo_;
};

class NodeStateStore : public StateStoreBackendTest {};
class NodeStateStoreVisits : public StateStoreBackendTest {};
class NodeStateStoreCorrections : public StateStoreBackendTest {};
class NodeStateStoreCluster : public StateStoreBackendTest {};

// The backend's name as a test name part.
std::string backend_test_name(const ::testing::TestParamInfo<std::string>& info);

// A CT instance of study 1.9 routed to analysis, received at `t`: the record the store tests
// feed to record_instance.
node::InstanceRecord analysed_ct_instance(const std::string& sop, const std::string& series,
                                          double t);

}  // namespace livernode::test

// Instantiates every state store suite on `backend` ("sqlite", "postgresql"), as
// PREFIX/Suite.Test/backend; written inside namespace livernode::test.
#define LIVERNODE_STATE_STORE_SUITES(prefix, backend)                                              \
  INSTANTIATE_TEST_SUITE_P(prefix, NodeStateStore, ::testing::Values(std::string(backend)),        \
                           ::livernode::test::backend_test_name);                                  \
  INSTANTIATE_TEST_SUITE_P(prefix, NodeStateStoreVisits, ::testing::Values(std::string(backend)),  \
                           ::livernode::test::backend_test_name);                                  \
  INSTANTIATE_TEST_SUITE_P(prefix, NodeStateStoreCorrections,                                      \
                           ::testing::Values(std::string(backend)),                                \
                           ::livernode::test::backend_test_name);                                  \
  INSTANTIATE_TEST_SUITE_P(prefix, NodeStateStoreCluster, ::testing::Values(std::string(backend)), \
                           ::livernode::test::backend_test_name)
