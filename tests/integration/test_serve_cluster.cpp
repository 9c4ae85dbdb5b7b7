// Two `livernode serve` processes on one PostgreSQL state (the test program's throwaway server)
// with a shared spool and results folder, each with its own ingest journal, delivering to a
// real Orthanc and to DCMTK's storescp, which keeps every object it receives as a file of its
// own: Orthanc stores an object sent twice only once, storescp shows how often it was sent.
// The phantom study is sent half to each node; a node is killed (kill -9) while it analyses, and
// while it delivers.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "livernode/node/store/postgres_state_store.h"
#include "livernode/phantom/phantom.h"
#include "node_process.h"
#include "orthanc_peer.h"
#include "postgres_server.h"
#include "serve_test_support.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;

namespace {

// DCMTK storescp writing each object it receives under a new file name (+uf), so that an object
// received twice is two files; `sleep_after_s` slows every C-STORE down.
class CountingPeer {
 public:
  CountingPeer(const fs::path& dir, int sleep_after_s) : dir_(dir) {
    fs::create_directories(dir / "received");
    const fs::path received = dir / "received";
    const auto server = start_on_free_port(
        [&](int port) {
          return "storescp -aet COUNTER +uf --sleep-after " + std::to_string(sleep_after_s) +
                 " -od " + received.string() + " " + std::to_string(port);
        },
        dir / "storescp.log",
        [](int port) {
          return run_command("echoscu -aec COUNTER 127.0.0.1 " + std::to_string(port)).status == 0;
        });
    port_ = server.port;
    pid_ = server.pid;
  }
  ~CountingPeer() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  int port() const { return port_; }
  std::size_t files() const { return count_files(dir_ / "received", ""); }
  // How often each SOP Instance UID was received.
  std::map<std::string, int> received() const {
    const auto dump = run_command("for f in " + (dir_ / "received").string() +
                                  "/*; do dcmdump -q +P 0008,0018 \"$f\"; done");
    std::map<std::string, int> out;
    static const std::regex uid(R"(\(0008,0018\) UI \[([0-9.]+)\])");
    for (auto it = std::sregex_iterator(dump.output.begin(), dump.output.end(), uid);
         it != std::sregex_iterator(); ++it)
      ++out[(*it)[1].str()];
    return out;
  }

 private:
  fs::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Two nodes on one state, one spool and one results folder.
class ServeCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    server_ = PostgresServer::instance(&why);
    if (!server_) GTEST_SKIP() << why;
    conninfo_ = server_->create_database();
    dir_ = make_temp_dir("livernode-cluster");
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    pacs_.reset();
    counter_.reset();
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }

  // Orthanc, the counting peer and the two nodes (not started). `processing` is appended to
  // each node's configuration.
  void make_cluster(int counter_sleep_s, const std::string& processing = "") {
    pacs_ = OrthancPeer::start(dir_ / "orthanc");
    counter_ = std::make_unique<CountingPeer>(dir_ / "counter", counter_sleep_s);
    const std::string destinations =
        loopback_destination("counter", "COUNTER", counter_->port()) +
        "  - name: orthanc\n    ae_title: " + pacs_->ae_title() +
        "\n    host: 127.0.0.1\n    port: " + std::to_string(pacs_->dicom_port()) +
        "\n    accepts: [seg, sr, summary, pdf]\n";
    a_ = make_node("node-a", destinations + processing);
    b_ = make_node("node-b", destinations + processing);
  }

  std::unique_ptr<NodeProcess> make_node(const std::string& name, const std::string& extra) {
    const fs::path home = dir_ / name;
    auto node = std::make_unique<NodeProcess>(
        home, "  name: " + name + "\n  lease_s: 3\n  heartbeat_s: 1\n", extra, "",
        "  journal_dir: " + (home / "journal").string() +
            "\n  state_backend: postgresql\n  postgresql:\n    conninfo: \"" + conninfo_ + "\"\n");
    // The spool and the results on the "shared file system".
    std::ifstream in(node->config_path());
    std::string text(std::istreambuf_iterator<char>(in), {});
    in.close();
    const auto replace = [&](const std::string& from, const std::string& to) {
      const auto at = text.find(from);
      ASSERT_NE(at, std::string::npos) << text;
      text.replace(at, from.size(), to);
    };
    replace("spool_dir: " + (home / "spool").string(), "spool_dir: " + (dir_ / "spool").string());
    replace("results_dir: " + (home / "results").string(),
            "results_dir: " + (dir_ / "results").string());
    std::ofstream(node->config_path()) << text;
    return node;
  }

  // The phantom study split in two halves (every other file of each series), sent at once to
  // node a and node b.
  std::string send_half_to_each() {
    const auto truth = phantom::generate_phantom(tiny_two_phase_study(23), dir_ / "study");
    std::size_t i = 0;
    for (const auto& series : fs::directory_iterator(dir_ / "study" / "dicom")) {
      if (!series.is_directory()) continue;
      for (const auto& f : fs::directory_iterator(series.path())) {
        const fs::path half = dir_ / (i++ % 2 ? "half-b" : "half-a") / series.path().filename();
        fs::create_directories(half);
        fs::copy_file(f.path(), half / f.path().filename());
      }
    }
    CommandResult sent_a, sent_b;
    std::thread ta([&] { sent_a = send_with_storescu(*a_, dir_ / "half-a"); });
    std::thread tb([&] { sent_b = send_with_storescu(*b_, dir_ / "half-b"); });
    ta.join();
    tb.join();
    EXPECT_EQ(sent_a.status, 0) << sent_a.output;
    EXPECT_EQ(sent_b.status, 0) << sent_b.output;
    return truth.study_uid;
  }

  NodeProcess& node_named(const std::string& name) { return name == "node-a" ? *a_ : *b_; }
  NodeProcess& other_than(const std::string& name) { return name == "node-a" ? *b_ : *a_; }

  // Every delivery of the only job delivered, none dead.
  bool all_delivered(node::StateStore& store, double seconds) {
    return eventually(
        [&] {
          const auto jobs = store.jobs("", 10);
          if (jobs.size() != 1 || jobs[0].state != node::JobState::done) return false;
          return store.outbox(node::DeliveryState::pending, 100).empty() &&
                 static_cast<std::int64_t>(
                     store.outbox(node::DeliveryState::delivered, 100).size()) ==
                     2 * jobs[0].objects;
        },
        seconds, 200);
  }

  // One result set in Orthanc: as many objects as the job wrote, one SR among them.
  void expect_one_result_set(node::StateStore& store, const std::string& study_uid) {
    const auto job = store.jobs("", 10).at(0);
    EXPECT_GE(job.objects, 3);
    const auto ids = pacs_->instances();
    EXPECT_EQ(static_cast<std::int64_t>(ids.size()), job.objects);
    int sr = 0;
    std::set<std::string> outbox_sops;
    for (const auto& r : store.outbox(node::DeliveryState::delivered, 100))
      outbox_sops.insert(r.sop_instance_uid);
    for (const auto& id : ids) {
      const auto tags = pacs_->tags(id);
      sr += tags.value("Modality", "") == "SR";
      EXPECT_EQ(tags.value("StudyInstanceUID", ""), study_uid);
      EXPECT_TRUE(outbox_sops.count(tags.value("SOPInstanceUID", "")))
          << "an object of another run reached the PACS";
    }
    EXPECT_EQ(sr, 1);
  }

  PostgresServer* server_ = nullptr;
  std::string conninfo_;
  fs::path dir_;
  std::unique_ptr<OrthancPeer> pacs_;
  std::unique_ptr<CountingPeer> counter_;
  std::unique_ptr<NodeProcess> a_, b_;
};

}  // namespace

// Any node may receive any instance of a study: the study is complete once, analysed once, and
// each result object is sent once to each destination, by one node.
TEST_F(ServeCluster, StudySentHalfToEachNodeIsAnalysedOnceAndEachObjectSentOnce) {
  // Each C-STORE to the counting peer takes a second: the delivery lasts long enough for the
  // other node's exporter to look at the outbox several times meanwhile.
  make_cluster(1);
  a_->start();
  b_->start();
  const std::string study_uid = send_half_to_each();
  node::PostgresStateStore store(conninfo_);
  EXPECT_EQ(store.counts().instances, 48);
  ASSERT_TRUE(all_delivered(store, 120)) << a_->log() << b_->log();
  const auto jobs = store.jobs("", 10);
  ASSERT_EQ(jobs.size(), 1u) << "study completion decided once";
  EXPECT_EQ(jobs[0].attempts, 1);
  EXPECT_TRUE(jobs[0].node == "node-a" || jobs[0].node == "node-b") << jobs[0].node;
  expect_one_result_set(store, study_uid);
  const auto received = counter_->received();
  EXPECT_EQ(static_cast<std::int64_t>(received.size()), jobs[0].objects);
  for (const auto& [sop, times] : received) EXPECT_EQ(times, 1) << sop << " sent " << times << "x";
  // Each node's own journal, none in the shared spool.
  EXPECT_TRUE(fs::exists(dir_ / "node-a" / "journal"));
  EXPECT_TRUE(fs::exists(dir_ / "node-b" / "journal"));
  EXPECT_FALSE(fs::exists(dir_ / "spool" / ".journal"));

  // Any node shows the whole cluster.
  for (NodeProcess* node : {a_.get(), b_.get()}) {
    const auto about = nlohmann::json::parse(node->get("/api/node"));
    ASSERT_EQ(about["cluster"].size(), 2u) << about.dump(2);
    std::set<std::string> names;
    for (const auto& n : about["cluster"]) {
      names.insert(n["name"].get<std::string>());
      EXPECT_TRUE(n["alive"].get<bool>()) << about.dump(2);
      EXPECT_LT(n["seconds_since_heartbeat"].get<double>(), 3.0) << about.dump(2);
    }
    EXPECT_EQ(names, (std::set<std::string>{"node-a", "node-b"}));
    const auto api_jobs = nlohmann::json::parse(node->get("/api/jobs"));
    ASSERT_EQ(api_jobs.size(), 1u);
    EXPECT_EQ(api_jobs[0]["node"], jobs[0].node);
  }
  EXPECT_EQ(a_->stop(), 0);
  EXPECT_EQ(b_->stop(), 0);
  EXPECT_EQ(a_->log().find("PHANTOM-0001"), std::string::npos);
}

// kill -9 of the node running the analysis: once its lease ran out the other node runs the job
// again and delivers the only result set.
TEST_F(ServeCluster, KillingTheNodeRunningTheAnalysisLeavesItToTheOther) {
  // An external segmentation program that takes 4 s, then fails (the built-in method takes
  // over): the analysis is long enough to be interrupted.
  std::ofstream(dir_ / "slow-segmentation.sh") << "#!/bin/sh\nsleep 4\nexit 3\n";
  fs::permissions(dir_ / "slow-segmentation.sh", fs::perms::owner_all, fs::perm_options::add);
  make_cluster(0, "processing:\n  segmentation_backend: external\n  external_command: [" +
                      (dir_ / "slow-segmentation.sh").string() + "]\n");
  a_->start();
  b_->start();
  const std::string study_uid = send_half_to_each();
  node::PostgresStateStore store(conninfo_);
  std::string runner;
  ASSERT_TRUE(eventually(
      [&] {
        const auto jobs = store.jobs("", 10);
        if (jobs.size() == 1 && jobs[0].state == node::JobState::running) runner = jobs[0].node;
        return !runner.empty();
      },
      60, 50))
      << a_->log() << b_->log();
  node_named(runner).kill_hard();
  const std::string survivor = runner == "node-a" ? "node-b" : "node-a";
  ASSERT_TRUE(all_delivered(store, 120)) << a_->log() << b_->log();
  const auto jobs = store.jobs("", 10);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].node, survivor);
  EXPECT_EQ(jobs[0].attempts, 2);
  // Written beside whatever the first node wrote, never over it.
  EXPECT_EQ(fs::path(jobs[0].result_dir).filename(), "v1-attempt2");
  expect_one_result_set(store, study_uid);
  const auto received = counter_->received();
  EXPECT_EQ(static_cast<std::int64_t>(received.size()), jobs[0].objects);
  for (const auto& [sop, times] : received) EXPECT_EQ(times, 1) << sop << " sent " << times << "x";
  const std::string log = other_than(runner).log();
  EXPECT_NE(log.find("event=job_taken_over job=" + std::to_string(jobs[0].id)), std::string::npos)
      << log;
  const std::string metrics = other_than(runner).get("/metrics");
  EXPECT_NE(metrics.find("livernode_jobs_taken_over_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("livernode_cluster_nodes{heartbeat=\"silent\"} 1"), std::string::npos)
      << metrics;
  // The survivor shows the dead node as silent.
  const auto about = nlohmann::json::parse(other_than(runner).get("/api/node"));
  for (const auto& n : about["cluster"])
    EXPECT_EQ(n["alive"].get<bool>(), n["name"] == survivor) << about.dump(2);
  EXPECT_EQ(other_than(runner).stop(), 0);
}

// kill -9 of the node delivering: the other node sends what it had not, once its claims ran out.
// Each object ends up in the PACS once; only an object in flight at the kill may be sent again.
TEST_F(ServeCluster, KillingTheNodeDeliveringLeavesTheRestToTheOther) {
  make_cluster(1);  // each C-STORE to the counting peer takes a second
  a_->start();
  b_->start();
  const std::string study_uid = send_half_to_each();
  node::PostgresStateStore store(conninfo_);
  std::string sender;
  ASSERT_TRUE(eventually(
      [&] {
        // A few objects in: the other node's exporter has looked at the outbox meanwhile.
        if (counter_->files() < 3) return false;
        // The node sending: its log shows deliveries (the counting peer comes first in each
        // pass, and takes one association at a time).
        for (const char* name : {"node-a", "node-b"})
          if (node_named(name).log().find("event=delivered ") != std::string::npos) sender = name;
        return !sender.empty();
      },
      120, 50))
      << a_->log() << b_->log();
  node_named(sender).kill_hard();
  const auto sent_before = counter_->received().size();
  ASSERT_TRUE(all_delivered(store, 120)) << a_->log() << b_->log();
  const auto jobs = store.jobs("", 10);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_LT(static_cast<std::int64_t>(sent_before), jobs[0].objects)
      << "the node was killed before it had sent everything";
  expect_one_result_set(store, study_uid);
  const auto received = counter_->received();
  EXPECT_EQ(static_cast<std::int64_t>(received.size()), jobs[0].objects);
  int twice = 0;
  for (const auto& [sop, times] : received) {
    EXPECT_LE(times, 2) << sop;
    twice += times == 2;
  }
  EXPECT_LE(twice, 1) << "only the object in flight at the kill is sent again";
  std::cout << "killed " << sender << " after " << sent_before << " of " << jobs[0].objects
            << " objects reached the counting peer; sent twice: " << twice << "\n";
  EXPECT_EQ(other_than(sender).stop(), 0);
}

}  // namespace livernode::test
