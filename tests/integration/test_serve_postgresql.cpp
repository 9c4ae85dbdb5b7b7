// `livernode serve` with its state in PostgreSQL (storage.state_backend postgresql, on the test
// program's throwaway server): a phantom study sent with storescu is analysed and its results
// reach the PACS (Orthanc), every row of the way in the database.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "livernode/node/store/postgres_state_store.h"
#include "livernode/phantom/phantom.h"
#include "node_process.h"
#include "orthanc_peer.h"
#include "postgres_server.h"
#include "serve_test_support.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;

TEST(ServePostgres, PhantomStudyIsAnalysedAndItsResultsReachOrthanc) {
  std::string why;
  PostgresServer* server = PostgresServer::instance(&why);
  if (!server) GTEST_SKIP() << why;
  const std::string conninfo = server->create_database();
  const fs::path dir = make_temp_dir("livernode-serve-pg");
  const auto truth = phantom::generate_phantom(tiny_two_phase_study(11), dir / "study");
  // A password file as a site would keep it (the test server trusts loopback connections).
  std::ofstream(dir / "pg-password") << "not-logged-pw\n";

  auto pacs = OrthancPeer::start(dir / "orthanc");
  NodeProcess node(dir / "node", "  name: pg-node-1\n",
                   loopback_destination("orthanc", pacs->ae_title(), pacs->dicom_port()), "",
                   "  state_backend: postgresql\n  postgresql:\n    conninfo: \"" + conninfo +
                       "\"\n    password_file: " + (dir / "pg-password").string() + "\n");
  node.start();
  const auto sent = send_with_storescu(node, dir / "study" / "dicom");
  ASSERT_EQ(sent.status, 0) << sent.output;

  node::PostgresStateStore store(conninfo);
  EXPECT_EQ(store.counts().instances, 48);
  EXPECT_FALSE(fs::exists(node.state_db())) << "no SQLite file beside the PostgreSQL state";
  ASSERT_TRUE(single_job_done(store, 90, truth.study_uid)) << node.log();
  const auto job = store.jobs("", 10)[0];
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 30))
      << node.log();
  EXPECT_EQ(static_cast<std::int64_t>(store.outbox(node::DeliveryState::delivered, 100).size()),
            job.objects);
  EXPECT_TRUE(store.outbox(node::DeliveryState::dead, 100).empty());
  EXPECT_GE(job.objects, 3);
  const auto ids = pacs->instances();
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), job.objects);
  std::set<std::string> modalities;
  for (const auto& id : ids) {
    const auto tags = pacs->tags(id);
    modalities.insert(tags.value("Modality", ""));
    EXPECT_EQ(tags.value("StudyInstanceUID", ""), truth.study_uid);
  }
  EXPECT_TRUE(modalities.count("SEG")) << node.log();
  EXPECT_TRUE(modalities.count("SR")) << node.log();

  // The node says who it is and where its state is.
  const auto about = nlohmann::json::parse(node.get("/api/node"));
  EXPECT_EQ(about["name"], "pg-node-1");
  EXPECT_EQ(about["state_backend"], "postgresql");
  const auto studies = nlohmann::json::parse(node.get("/api/studies"));
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0]["state"], "done");

  EXPECT_EQ(node.stop(), 0);
  const std::string log = node.log();
  EXPECT_NE(log.find("node=pg-node-1"), std::string::npos) << log;
  EXPECT_NE(log.find("state_backend=postgresql"), std::string::npos) << log;
  EXPECT_EQ(log.find("not-logged-pw"), std::string::npos);
  EXPECT_EQ(log.find("PHANTOM-0001"), std::string::npos);
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace livernode::test
