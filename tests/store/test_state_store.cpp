// The state store on every backend (state_store_backends.h): job versions, crash recovery,
// deliveries committed with the job's end, the schema version of a new database.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "state_store_backends.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using namespace livernode::node;

TEST_P(NodeStateStore, NewSeriesAfterAnalysisMakesTheNextVersionAndRestartRequeues) {
  const auto dir = make_temp_dir("livernode-store");
  {
    auto opened = open();
    StateStore& store = *opened;
    EXPECT_TRUE(store.record_instance(analysed_ct_instance("1.1", "1.5", 100)));
    EXPECT_FALSE(
        store.record_instance(analysed_ct_instance("1.1", "1.5", 101)));  // re-sent: stored once
    EXPECT_TRUE(store.record_instance(analysed_ct_instance("1.2", "1.5", 102)));
    EXPECT_EQ(store.study("1.9")->instances, 2);
    // What the start-up spool walk asks once per study folder.
    EXPECT_EQ(store.instances_of_study("1.9"), (std::set<std::string>{"1.1", "1.2"}));
    EXPECT_TRUE(store.instances_of_study("1.8").empty());
    EXPECT_EQ(store.complete_quiet_series(101).size(), 0u);
    EXPECT_EQ(store.complete_quiet_series(102).size(), 1u);
    const JobRow v1 = store.create_job("1.9", 110);
    EXPECT_EQ(v1.version, 1);
    EXPECT_EQ(store.study("1.9")->state, node::StudyState::queued);
    const auto claimed = store.claim_next_job(111);
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->id, v1.id);
    EXPECT_FALSE(store.claim_next_job(111));
    // The process dies here, with the job running.
  }
  auto opened = open();
  StateStore& store = *opened;
  EXPECT_EQ(store.requeue_unfinished_jobs(), 1);
  auto again = store.claim_next_job(120);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(again->attempts, 2);
  store.finish_job(again->id, node::JobState::done, "", "/results/1.9/v1", 0, 130);
  EXPECT_EQ(store.study("1.9")->state, node::StudyState::done);
  // A later series reopens the study; its job is version 2.
  EXPECT_TRUE(store.record_instance(analysed_ct_instance("1.3", "1.6", 200)));
  EXPECT_EQ(store.study("1.9")->state, node::StudyState::receiving);
  EXPECT_EQ(store.create_job("1.9", 210).version, 2);
  EXPECT_EQ(store.jobs("1.9", 10).size(), 2u);
  fs::remove_all(dir);
}

// A job's deliveries are committed with its end: before that the outbox holds nothing a
// re-run (after a crash) could leave behind beside its own new objects.
TEST_P(NodeStateStore, DeliveriesAreQueuedTogetherWithTheJobsEnd) {
  const auto dir = make_temp_dir("livernode-store");
  {
    auto opened = open();
    StateStore& store = *opened;
    ASSERT_TRUE(store.record_instance(analysed_ct_instance("1.1", "1.5", 100)));
    const JobRow job = store.create_job("1.9", 110);
    ASSERT_TRUE(store.claim_next_job(111));
    OutboxRow r;
    r.job_id = job.id;
    r.study_uid = "1.9";
    r.destination = "pacs";
    r.kind = "seg";
    r.path = "/results/1.9/v1/1/seg.dcm";
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.66.4";
    r.sop_instance_uid = "1.2.3.4";
    r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    r.created_at = 120;
    store.finish_job(job.id, node::JobState::done, "", "/results/1.9/v1", 1, 120, {r});
    const auto rows = store.outbox(node::DeliveryState::pending, 10);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].sop_instance_uid, "1.2.3.4");
    EXPECT_EQ(store.jobs("1.9", 10)[0].state, node::JobState::done);
  }
  // After a restart the done job is not run again; its delivery is still there.
  auto opened = open();
  StateStore& store = *opened;
  EXPECT_EQ(store.requeue_unfinished_jobs(), 0);
  EXPECT_FALSE(store.claim_next_job(130));
  EXPECT_EQ(store.outbox(node::DeliveryState::pending, 10).size(), 1u);
  fs::remove_all(dir);
}

// A new database starts at the current version, its studies table with the header columns.
TEST_P(NodeStateStore, NewDatabaseHasTheCurrentSchemaVersion) {
  const auto dir = make_temp_dir("livernode-schema");
  {
    auto opened = open();
    StateStore& store = *opened;
    EXPECT_EQ(schema_version(store), 3);
    auto r = analysed_ct_instance("1.1", "1.5", 100);
    r.accession_number = "A1";
    ASSERT_TRUE(store.record_instance(r));
    EXPECT_EQ(store.study("1.9")->accession_number, "A1");
  }
  fs::remove_all(dir);
}

// Workers of several processes (here: two connections, each used by its own thread) claim
// from one queue: every job is taken exactly once.
TEST_P(NodeStateStore, TwoConnectionsNeverClaimTheSameJob) {
  constexpr int kJobs = 40;
  {
    auto opened = open();
    for (int i = 0; i < kJobs; ++i) {
      auto r = analysed_ct_instance("1.1." + std::to_string(i), "1.5." + std::to_string(i), 100);
      r.study_uid = "2." + std::to_string(i);
      ASSERT_TRUE(opened->record_instance(r));
      opened->create_job(r.study_uid, 110);
    }
  }
  std::vector<std::int64_t> claimed[2];
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w)
    workers.emplace_back([this, w, &claimed] {
      auto store = open();
      while (const auto job = store->claim_next_job(120)) {
        claimed[w].push_back(job->id);
        store->finish_job(job->id, node::JobState::done, "", "", 0, 121);
      }
    });
  for (auto& t : workers) t.join();
  std::vector<std::int64_t> all = claimed[0];
  all.insert(all.end(), claimed[1].begin(), claimed[1].end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a job was claimed twice";
  auto store = open();
  EXPECT_EQ(store->counts().jobs_by_state["done"], kJobs);
}

}  // namespace livernode::test
