#include "state_store_backends.h"

#include "livernode/node/store/postgres_state_store.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "postgres_server.h"
#include "test_support.h"

namespace livernode::test {

void StateStoreBackendTest::SetUp() {
  dir_ = make_temp_dir("livernode-store");
  if (GetParam() == "postgresql") {
    std::string why;
    PostgresServer* server = PostgresServer::instance(&why);
    if (!server) GTEST_SKIP() << why;
    conninfo_ = server->create_database();
  }
}

void StateStoreBackendTest::TearDown() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::unique_ptr<node::StateStore> StateStoreBackendTest::open() {
  if (GetParam() == "postgresql") return std::make_unique<node::PostgresStateStore>(conninfo_);
  return std::make_unique<node::SqliteStateStore>(dir_ / "state.sqlite");
}

int StateStoreBackendTest::schema_version(node::StateStore& store) {
  if (auto* postgres = dynamic_cast<node::PostgresStateStore*>(&store))
    return postgres->schema_version();
  return dynamic_cast<node::SqliteStateStore&>(store).schema_version();
}

std::string backend_test_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

node::InstanceRecord analysed_ct_instance(const std::string& sop, const std::string& series,
                                          double t) {
  node::InstanceRecord r;
  r.sop_instance_uid = sop;
  r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  r.study_uid = "1.9";
  r.series_uid = series;
  r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  r.path = "/spool/" + sop;
  r.size_bytes = 100;
  r.modality = "CT";
  r.action = node::SeriesAction::analyse;
  r.received_at = t;
  return r;
}

}  // namespace livernode::test
