// The exporter against real peers: delivery to a PACS (Orthanc), retries and dead letters for a
// destination that is down, and delivery over TLS with certificates both ways.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "livernode/node/http/http_server.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/node/workflow/exporter.h"
#include "livernode/phantom/phantom.h"
#include "orthanc_peer.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using namespace livernode::node;

TEST(NodeExporter, DeliversToOrthancAndDeadLettersADestinationThatIsDown) {
  const auto dir = make_temp_dir("livernode-exporter");
  auto pacs = OrthancPeer::start(dir / "orthanc");
  phantom::PhantomOptions o;
  o.matrix = 32;
  o.slices = 2;
  o.pixel_spacing_mm = 10;
  o.slice_thickness_mm = 20;
  o.phases = {phantom::Phase::kPortalVenous};
  phantom::generate_phantom(o, dir / "phantom");
  const fs::path file = *fs::directory_iterator(dir / "phantom" / "dicom" / "portal_venous");

  config::Config cfg;
  cfg.node.ae_title = "LIVERNODE";
  cfg.node.acse_timeout_s = 5;
  cfg.delivery.initial_backoff_s = 1;
  cfg.delivery.max_backoff_s = 1;
  cfg.delivery.max_attempts = 2;
  config::Destination up;
  up.name = "orthanc";
  up.ae_title = pacs->ae_title();
  up.host = "127.0.0.1";
  up.port = pacs->dicom_port();
  config::Destination down = up;
  down.name = "down";
  down.port = free_tcp_port();  // nothing listens there
  cfg.destinations = {up, down};
  auto store = std::make_shared<SqliteStateStore>(dir / "state.sqlite");
  Runtime runtime(std::make_shared<const RuntimeConfig>(cfg), store);

  std::vector<OutboxRow> rows;
  for (const auto& d : {"orthanc", "down"}) {
    OutboxRow r;
    r.job_id = 1;
    r.study_uid = "1.9";
    r.destination = d;
    r.kind = "summary";
    r.path = file.string();
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    r.sop_instance_uid = "1.2.3";
    r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    r.created_at = wall_now();
    rows.push_back(r);
  }
  store->add_outbox(rows);
  store->add_outbox(rows);  // queued twice by mistake: still one row per object and destination
  ASSERT_EQ(store->outbox(std::nullopt, 10).size(), 2u);

  Wakeup wake;
  Exporter exporter(runtime, wake);
  exporter.pass(wall_now());
  EXPECT_EQ(store->outbox(node::DeliveryState::delivered, 10).size(), 1u);
  EXPECT_EQ(pacs->instances().size(), 1u);
  auto pending = store->outbox(node::DeliveryState::pending, 10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].destination, "down");
  EXPECT_EQ(pending[0].attempts, 1);
  EXPECT_NE(pending[0].last_error.find("cannot associate"), std::string::npos)
      << pending[0].last_error;
  EXPECT_EQ(runtime.metrics.delivery_retries, 1u);

  exporter.pass(wall_now());  // not due yet: nothing happens
  EXPECT_EQ(store->outbox(node::DeliveryState::pending, 10)[0].attempts, 1);
  exporter.pass(wall_now() + 2);
  const auto dead = store->outbox(node::DeliveryState::dead, 10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].attempts, 2);
  EXPECT_EQ(runtime.metrics.dead_letters, 1u);
  // Delivered rows are never sent again; a dead one can be re-queued.
  exporter.pass(wall_now() + 100);
  EXPECT_EQ(pacs->instances().size(), 1u);
  EXPECT_EQ(runtime.metrics.deliveries, 1u);
  // The admin sees the dead letter over HTTP and re-queues it there.
  const auto listed = handle_http_request(runtime, "GET", "/api/outbox?state=dead", "");
  EXPECT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find("cannot associate"), std::string::npos) << listed.body;
  const auto requeued = handle_http_request(
      runtime, "POST", "/api/outbox/" + std::to_string(dead[0].id) + "/requeue", "");
  EXPECT_EQ(requeued.status, 200) << requeued.body;
  EXPECT_EQ(store->outbox(node::DeliveryState::pending, 10).size(), 1u);
  EXPECT_EQ(store->outbox(node::DeliveryState::pending, 10)[0].attempts, 0);
  const auto summary = handle_http_request(runtime, "GET", "/api/outbox/summary", "");
  EXPECT_EQ(nlohmann::json::parse(summary.body),
            nlohmann::json::parse(R"({"down": {"pending": 1}, "orthanc": {"delivered": 1}})"))
      << summary.body;
  EXPECT_FALSE(
      store->requeue_outbox(store->outbox(node::DeliveryState::delivered, 10)[0].id, wall_now()));
  pacs.reset();
  fs::remove_all(dir);
}

// A destination with tls: true gets its results over DICOM TLS: our certificate from node.tls,
// the peer's checked against node.tls.trusted_cas. The peer is DCMTK's storescp with TLS.
TEST(NodeExporter, DeliversOverTlsWithCertificatesBothWays) {
  const auto dir = make_temp_dir("livernode-exporter-tls");
  const std::string t = dir.string();
  const auto made = run_command("cd " + t +
                                " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out "
                                "ca.pem -days 2 -subj /CN=test-ca"
                                " && for n in node pacs; do openssl req -newkey rsa:2048 -nodes "
                                "-keyout $n.key -out $n.csr -subj /CN=$n"
                                " && openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key "
                                "-CAcreateserial -out $n.pem -days 2; done");
  ASSERT_EQ(made.status, 0) << made.output;
  phantom::PhantomOptions o;
  o.matrix = 32;
  o.slices = 2;
  o.pixel_spacing_mm = 10;
  o.slice_thickness_mm = 20;
  o.phases = {phantom::Phase::kPortalVenous};
  phantom::generate_phantom(o, dir / "phantom");
  const fs::path file = *fs::directory_iterator(dir / "phantom" / "dicom" / "portal_venous");
  const int port = free_tcp_port();
  fs::create_directories(dir / "received");
  const auto started = run_command(
      "storescp -aet PACS +tls " + t + "/pacs.key " + t + "/pacs.pem +cf " + t + "/ca.pem -od " +
      t + "/received " + std::to_string(port) + " > " + t + "/storescp.log 2>&1 & echo $!");
  const pid_t pacs = std::atoi(started.output.c_str());
  ASSERT_GT(pacs, 0);
  const std::string probe = "echoscu -aec PACS +tls " + t + "/node.key " + t + "/node.pem +cf " +
                            t + "/ca.pem 127.0.0.1 " + std::to_string(port);
  for (int i = 0; i < 50 && run_command(probe).status != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

  config::Config cfg;
  cfg.node.tls.certificate = dir / "node.pem";
  cfg.node.tls.private_key = dir / "node.key";
  cfg.node.tls.trusted_cas = {dir / "ca.pem"};
  config::Destination d;
  d.name = "tls-pacs";
  d.ae_title = "PACS";
  d.host = "127.0.0.1";
  d.port = port;
  d.tls = true;
  cfg.destinations = {d};
  auto store = std::make_shared<SqliteStateStore>(dir / "state.sqlite");
  Runtime runtime(std::make_shared<const RuntimeConfig>(cfg), store);
  OutboxRow r;
  r.job_id = 1;
  r.study_uid = "1.9";
  r.destination = "tls-pacs";
  r.kind = "summary";
  r.path = file.string();
  r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  r.sop_instance_uid = "1.2.3";
  r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  r.created_at = wall_now();
  store->add_outbox({r});
  Wakeup wake;
  Exporter exporter(runtime, wake);
  exporter.pass(wall_now());
  const auto rows = store->outbox(std::nullopt, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, node::DeliveryState::delivered) << rows[0].last_error;
  std::size_t received = 0;
  for (const auto& e : fs::directory_iterator(dir / "received")) received += e.is_regular_file();
  EXPECT_EQ(received, 1u);
  ::kill(pacs, SIGTERM);
  fs::remove_all(dir);
}

}  // namespace livernode::test
