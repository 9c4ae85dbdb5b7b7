// Several nodes on one state (state_store_backends.h): job leases and their takeover, results
// written only by the node holding the job, deliveries claimed by one node at a time, study
// completion decided once, the nodes' heartbeats. Two stores opened on one state are two nodes.
// SQLite serves one node: its running jobs are never taken over, and the rest holds the same.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "state_store_backends.h"

namespace livernode::test {

using namespace livernode::node;

namespace {

OutboxRow result_row(std::int64_t job_id, const std::string& sop, double t) {
  OutboxRow r;
  r.job_id = job_id;
  r.study_uid = "1.9";
  r.destination = "pacs";
  r.kind = "seg";
  r.path = "/results/1.9/v1/1/" + sop + ".dcm";
  r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.66.4";
  r.sop_instance_uid = sop;
  r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  r.created_at = t;
  return r;
}

NodeRow node_named(const std::string& name, double started_at) {
  NodeRow n;
  n.name = name;
  n.started_at = started_at;
  n.version = "test";
  n.ae_title = "LIVERNODE";
  n.dicom_port = 11112;
  return n;
}

}  // namespace

// A node that stops renewing its lease (killed) loses its running job to another node once the
// lease ran out; the first node's late results are refused, the second's are the only ones.
TEST_P(NodeStateStoreCluster, AJobWhoseLeaseRanOutIsTakenOverAndGivesOneResultSet) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a->record_instance(analysed_ct_instance("1.1", "1.5", 100)));
  const JobRow job = a->create_job("1.9", 110);
  const auto held = a->claim_next_job(111, {"node-a", 10});
  ASSERT_TRUE(held);
  EXPECT_EQ(held->node, "node-a");
  EXPECT_DOUBLE_EQ(held->lease_expires_at, 121);
  EXPECT_EQ(b->job(job.id)->node, "node-a");
  // Within the lease, and after a heartbeat renewed it, nobody else takes it.
  EXPECT_FALSE(b->claim_next_job(115, {"node-b", 10}));
  a->heartbeat(node_named("node-a", 100), 118, 10);
  EXPECT_DOUBLE_EQ(b->job(job.id)->lease_expires_at, 128);
  EXPECT_FALSE(b->claim_next_job(125, {"node-b", 10}));
  // node-a dies: no more heartbeats.
  const auto taken = b->claim_next_job(129, {"node-b", 10});
  if (GetParam() == "sqlite") {
    EXPECT_FALSE(taken) << "one node uses an SQLite state: its running job is its own";
    EXPECT_TRUE(a->finish_job(job.id, node::JobState::done, "", "/r", 1, 130,
                              {result_row(job.id, "1.2.1", 130)}, "node-a"));
    EXPECT_EQ(a->outbox(std::nullopt, 10).size(), 1u);
    return;
  }
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->id, job.id);
  EXPECT_EQ(taken->node, "node-b");
  EXPECT_EQ(taken->previous_node, "node-a");
  EXPECT_EQ(taken->attempts, 2);
  EXPECT_EQ(b->study("1.9")->state, StudyState::running);
  // node-a was not dead after all (cut off from the database): its results are refused.
  EXPECT_FALSE(a->finish_job(job.id, node::JobState::done, "", "/r", 1, 131,
                             {result_row(job.id, "1.2.1", 131)}, "node-a"));
  EXPECT_TRUE(b->outbox(std::nullopt, 10).empty());
  EXPECT_EQ(b->job(job.id)->state, node::JobState::running);
  EXPECT_TRUE(b->finish_job(job.id, node::JobState::done, "", "/r", 1, 140,
                            {result_row(job.id, "1.2.2", 140)}, "node-b"));
  const auto rows = b->outbox(std::nullopt, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sop_instance_uid, "1.2.2");
  EXPECT_EQ(b->study("1.9")->state, StudyState::done);
  EXPECT_EQ(b->job(job.id)->node, "node-b");
}

// A restarting node puts back only the jobs its own previous process left running; the job
// another live node runs stays with that node.
TEST_P(NodeStateStoreCluster, ARestartingNodeRequeuesOnlyItsOwnJobs) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a->record_instance(analysed_ct_instance("1.1", "1.5", 100)));
  InstanceRecord other = analysed_ct_instance("2.1", "2.5", 100);
  other.study_uid = "2.9";
  other.patient_id = "OTHER";
  other.frame_of_reference_uid = "2.2";
  ASSERT_TRUE(a->record_instance(other));
  a->create_job("1.9", 110);
  a->create_job("2.9", 110);
  ASSERT_TRUE(a->claim_next_job(111, {"node-a", 60}));
  ASSERT_TRUE(b->claim_next_job(111, {"node-b", 60}));
  if (GetParam() == "sqlite") return;  // one node: a restart puts back every running job
  auto restarted = open();
  EXPECT_EQ(restarted->requeue_unfinished_jobs("node-a"), 1);
  int running = 0, queued = 0;
  for (const auto& j : restarted->jobs("", 10)) {
    running += j.state == node::JobState::running;
    queued += j.state == node::JobState::queued;
    if (j.state == node::JobState::running) EXPECT_EQ(j.node, "node-b");
  }
  EXPECT_EQ(running, 1);
  EXPECT_EQ(queued, 1);
}

// Each delivery is held by one node at a time: a second node's pass gets none of the first's
// rows until the first sent them, released them, or stopped renewing its claim.
TEST_P(NodeStateStoreCluster, EachDeliveryIsClaimedByOneNodeAtATime) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a->record_instance(analysed_ct_instance("1.1", "1.5", 100)));
  const JobRow job = a->create_job("1.9", 110);
  ASSERT_TRUE(a->claim_next_job(111));
  std::vector<OutboxRow> rows;
  for (const char* sop : {"1.2.1", "1.2.2", "1.2.3", "1.2.4"})
    rows.push_back(result_row(job.id, sop, 120));
  ASSERT_TRUE(a->finish_job(job.id, node::JobState::done, "", "/r", 4, 120, rows));
  const auto mine = a->claim_outbox(121, 2, {"node-a", 10});
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].claimed_by, "node-a");
  const auto theirs = b->claim_outbox(121, 10, {"node-b", 10});
  ASSERT_EQ(theirs.size(), 2u);
  std::set<std::string> sops;
  for (const auto& r : mine) sops.insert(r.sop_instance_uid);
  for (const auto& r : theirs) sops.insert(r.sop_instance_uid);
  EXPECT_EQ(sops.size(), 4u) << "no row went to both nodes";
  EXPECT_TRUE(b->claim_outbox(122, 10, {"node-b", 10}).size() == 2u);  // its own again
  EXPECT_TRUE(a->claim_outbox(122, 10, {"node-c", 10}).empty());
  // node-a sends one and dies holding the other; node-b sends both of its own.
  a->mark_delivered(mine[0].id, 123);
  b->mark_delivered(theirs[0].id, 123);
  b->mark_delivered(theirs[1].id, 123);
  EXPECT_TRUE(b->claim_outbox(125, 10, {"node-b", 10}).empty());
  // A row held by another node is due for this one when that claim runs out.
  ASSERT_TRUE(b->next_outbox_due());
  EXPECT_DOUBLE_EQ(*b->next_outbox_due(), 131);
  const auto left = b->claim_outbox(132, 10, {"node-b", 10});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, mine[1].id);
  // A pass that ends with rows unsent releases them for any node.
  b->release_outbox("node-b");
  EXPECT_EQ(a->claim_outbox(133, 10, {"node-a", 10}).size(), 1u);
  // A heartbeat keeps the claim of a node that is sending.
  a->heartbeat(node_named("node-a", 100), 140, 10);
  EXPECT_TRUE(b->claim_outbox(145, 10, {"node-b", 10}).empty());
  // Just before sending, the node renews its claim; a node whose claim ran out and was taken
  // over cannot, and does not send.
  EXPECT_TRUE(a->renew_outbox_claim(mine[1].id, 146, {"node-a", 10}));
  EXPECT_TRUE(b->claim_outbox(155, 10, {"node-b", 10}).empty());
  ASSERT_EQ(b->claim_outbox(157, 10, {"node-b", 10}).size(), 1u);
  EXPECT_FALSE(a->renew_outbox_claim(mine[1].id, 158, {"node-a", 10}));
  EXPECT_TRUE(b->renew_outbox_claim(mine[1].id, 158, {"node-b", 10}));
  EXPECT_EQ(a->outbox(node::DeliveryState::delivered, 10).size(), 3u);
}

// Two nodes' trackers see the same quiet study: one job is queued, and none once an instance
// arrived after the look.
TEST_P(NodeStateStoreCluster, StudyCompletionIsDecidedOnce) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a->record_instance(analysed_ct_instance("1.1", "1.5", 100)));
  ASSERT_TRUE(b->record_instance(analysed_ct_instance("1.2", "1.5", 101)));
  EXPECT_FALSE(a->create_job_if_ready("1.9", 105, 100, 0)) << "not quiet yet";
  const auto first = a->create_job_if_ready("1.9", 110, 105, 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->version, 1);
  EXPECT_FALSE(b->create_job_if_ready("1.9", 110, 105, 0));
  EXPECT_EQ(b->jobs("1.9", 10).size(), 1u);
  // Reopened by a new series: a look taken before it arrived decides nothing.
  ASSERT_TRUE(a->record_instance(analysed_ct_instance("1.3", "1.6", 120)));
  EXPECT_FALSE(b->create_job_if_ready("1.9", 121, 116, 0));
  // ... unless the study waited max_wait_s since its first instance.
  EXPECT_TRUE(b->create_job_if_ready("1.9", 121, 116, 120));
  EXPECT_EQ(a->jobs("1.9", 10).size(), 2u);
}

// Every node's heartbeat is visible to every node.
TEST_P(NodeStateStoreCluster, NodesAreListedWithTheirLastHeartbeat) {
  auto a = open();
  auto b = open();
  a->heartbeat(node_named("node-a", 100), 101, 30);
  b->heartbeat(node_named("node-b", 100), 102, 30);
  a->heartbeat(node_named("node-a", 100), 111, 30);
  const auto nodes = b->nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "node-a");
  EXPECT_DOUBLE_EQ(nodes[0].last_heartbeat, 111);
  EXPECT_DOUBLE_EQ(nodes[0].started_at, 100);
  EXPECT_EQ(nodes[1].name, "node-b");
  EXPECT_EQ(nodes[1].dicom_port, 11112);
}

}  // namespace livernode::test
