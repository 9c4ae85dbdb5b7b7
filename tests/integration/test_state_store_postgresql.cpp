// The state store suites of tests/store/ on PostgreSQL (a throwaway server of this program,
// tests/support/postgres_server.h), and what only a database server has: nodes starting at
// once, a lost connection, `livernode check-config` connecting to it.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <vector>

#include "livernode/node/store/postgres_state_store.h"
#include "orthanc_peer.h"
#include "postgres_server.h"
#include "state_store_backends.h"
#include "test_support.h"

namespace livernode::test {

LIVERNODE_STATE_STORE_SUITES(PostgreSQL, "postgresql");

namespace fs = std::filesystem;
using node::PostgresStateStore;
using node::StateStoreError;

namespace {

// The program's server, or a skip when the PostgreSQL programs are not installed.
#define LIVERNODE_REQUIRE_POSTGRES(server)                           \
  std::string why_no_server;                                         \
  PostgresServer* server = PostgresServer::instance(&why_no_server); \
  if (!server) GTEST_SKIP() << why_no_server

std::string database_of(const std::string& conninfo) {
  const auto at = conninfo.find("dbname=") + 7;
  return conninfo.substr(at, conninfo.find(' ', at) - at);
}

}  // namespace

// Several nodes starting at once on a new database: one creates the schema, the others wait
// for it (advisory lock) and find it current.
TEST(PostgresStateStore, NodesStartingAtOnceMigrateOnce) {
  LIVERNODE_REQUIRE_POSTGRES(server);
  const std::string conninfo = server->create_database();
  std::vector<std::thread> nodes;
  std::vector<std::string> errors(4);
  for (int i = 0; i < 4; ++i)
    nodes.emplace_back([&, i] {
      try {
        PostgresStateStore store(conninfo);
        if (store.schema_version() != 3) errors[i] = "schema version not 3";
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : nodes) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  PostgresStateStore again(conninfo);
  EXPECT_EQ(again.schema_version(), PostgresStateStore::current_schema_version());
  const auto probe = PostgresStateStore::probe(conninfo);
  EXPECT_EQ(probe.schema_version, 3);
  EXPECT_FALSE(probe.server_version.empty());
}

TEST(PostgresStateStore, ADatabaseOfALaterReleaseIsRefused) {
  LIVERNODE_REQUIRE_POSTGRES(server);
  const std::string conninfo = server->create_database();
  { PostgresStateStore store(conninfo); }
  server->run_sql(database_of(conninfo), "UPDATE schema_version SET version=99");
  try {
    PostgresStateStore newer(conninfo);
    ADD_FAILURE() << "a database of schema version 99 was opened";
  } catch (const StateStoreError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
}

// The server ends the node's connection (a restart, a failover): the call in progress fails
// with a clear error, the next one connects again.
TEST(PostgresStateStore, ALostConnectionFailsTheCallAndTheNextOneReconnects) {
  LIVERNODE_REQUIRE_POSTGRES(server);
  const std::string conninfo = server->create_database();
  PostgresStateStore store(conninfo);
  store.create_job("1.2.3", 10);
  server->run_sql("postgres",
                  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='" +
                      database_of(conninfo) + "'");
  try {
    store.jobs("", 10);
    ADD_FAILURE() << "a call on a terminated connection succeeded";
  } catch (const StateStoreError& e) {
    EXPECT_NE(std::string(e.what()).find("lost the connection"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store.jobs("", 10).size(), 1u);
}

// A server that does not answer: the error names it, never the password.
TEST(PostgresStateStore, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(free_tcp_port()) +
                               " dbname=livernode user=livernode connect_timeout=5";
  try {
    PostgresStateStore store(conninfo, "s3cret-pw");
    ADD_FAILURE() << "connected to nothing";
  } catch (const StateStoreError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot connect to the state database"), std::string::npos) << message;
    EXPECT_NE(message.find("dbname=livernode"), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret-pw"), std::string::npos) << message;
  }
}

// `livernode check-config` connects to the configured database (and changes nothing), and says
// so; an unreachable one is a problem (exit code 2). The password is never printed.
TEST(PostgresCheckConfig, ConnectsAndSaysWhetherItCould) {
  LIVERNODE_REQUIRE_POSTGRES(server);
  const std::string conninfo = server->create_database();
  const fs::path dir = make_temp_dir("livernode-check-pg");
  std::ofstream(dir / "password") << "s3cret-pw\n";
  const auto write_config = [&](const std::string& info) {
    std::ofstream(dir / "node.yaml")
        << "node:\n  name: node-a\nstorage:\n  spool_dir: " << (dir / "spool").string()
        << "\n  results_dir: " << (dir / "results").string()
        << "\n  state_backend: postgresql\n  postgresql:\n    conninfo: \"" << info
        << "\"\n    password_file: password\n";
  };
  fs::create_directories(dir / "spool");
  fs::create_directories(dir / "results");
  write_config(conninfo);
  const std::string check =
      std::string(LIVERNODE_BINARY) + " check-config " + (dir / "node.yaml").string();
  auto r = run_command(check);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Node node-a"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("connected to PostgreSQL"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no livernode tables yet"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("s3cret-pw"), std::string::npos) << r.output;
  EXPECT_EQ(PostgresStateStore::probe(conninfo).schema_version, 0) << "check-config created tables";

  write_config("host=127.0.0.1 port=" + std::to_string(free_tcp_port()) +
               " dbname=livernode user=livernode connect_timeout=5");
  r = run_command(check);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("cannot connect to the state database"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("s3cret-pw"), std::string::npos) << r.output;
  r = run_command(check + " --offline");
  EXPECT_EQ(r.status, 0) << r.output;
  fs::remove_all(dir);
}

}  // namespace livernode::test
