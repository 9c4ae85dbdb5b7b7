// Visits in the state store, on every backend: studies of one patient and acquisition, filed
// under several StudyInstanceUIDs, share one lead study, its job versions and its states.
#include <gtest/gtest.h>

#include "livernode/node/ingest/routing.h"
#include "livernode/node/workflow/visits.h"
#include "state_store_backends.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using namespace livernode::node;

namespace {

InstanceRecord image(const std::string& study, const std::string& series, const std::string& sop,
                     const std::string& patient, const std::string& frame, const std::string& date,
                     const std::string& time, double at) {
  InstanceRecord r;
  r.sop_instance_uid = sop;
  r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  r.study_uid = study;
  r.series_uid = series;
  r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  r.path = "/spool/" + sop;
  r.size_bytes = 100;
  r.modality = "CT";
  r.patient_id = patient;
  r.frame_of_reference_uid = frame;
  r.study_date = date;
  r.acquisition_time = time;
  r.action = SeriesAction::analyse;
  r.received_at = at;
  return r;
}

// Two phases of patient P1, 2.5 minutes apart in one frame of reference,
// filed as studies 1.1 and 1.2.
void record_two_phases(StateStore& store) {
  ASSERT_TRUE(store.record_instance(
      image("1.1", "1.1.1", "1.1.1.1", "P1", "9.1", "20240102", "100000", 10)));
  ASSERT_TRUE(store.record_instance(
      image("1.2", "1.2.1", "1.2.1.1", "P1", "9.1", "20240102", "100230", 11)));
}

}  // namespace

TEST_P(NodeStateStoreVisits, TheLeadStudyOwnsTheJobsAndEveryStudyOfTheVisitFollowsThem) {
  const auto dir = make_temp_dir("livernode-visits");
  {
    auto opened = open();
    StateStore& store = *opened;
    // Two phases under their own studies, one patient and frame; a study of another patient
    // with the same frame UID; a later visit of the first patient.
    ASSERT_NO_FATAL_FAILURE(record_two_phases(store));
    ASSERT_TRUE(store.record_instance(
        image("2.1", "2.1.1", "2.1.1.1", "P2", "9.1", "20240102", "100000", 12)));
    ASSERT_TRUE(store.record_instance(
        image("1.9", "1.9.1", "1.9.1.1", "P1", "9.7", "20240301", "090000", 13)));
    EXPECT_EQ(assign_visits(store), 1);  // 1.2 joins 1.1; the others stay alone
    EXPECT_EQ(store.visit_of("1.2"), "1.1");
    EXPECT_EQ(store.visit_of("1.1"), "1.1");
    EXPECT_EQ(store.visit_of("2.1"), "2.1");
    EXPECT_EQ(store.visit_of("1.9"), "1.9");
    EXPECT_EQ(assign_visits(store), 0) << "placing is stable";
    const auto members = store.studies_of_visit("1.1");
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0].study_uid, "1.1");
    EXPECT_EQ(members[1].study_uid, "1.2");

    // A job of either study is a job of the visit's lead; both studies follow it.
    const JobRow job = store.create_job("1.2", 20);
    EXPECT_EQ(job.study_uid, "1.1");
    EXPECT_EQ(job.version, 1);
    EXPECT_EQ(store.study("1.2")->state, node::StudyState::queued);
    EXPECT_EQ(store.study("2.1")->state, node::StudyState::receiving);
    const auto claimed = store.claim_next_job(21);
    ASSERT_TRUE(claimed);
    EXPECT_EQ(store.study("1.1")->state, node::StudyState::running);
    EXPECT_EQ(store.study("1.2")->state, node::StudyState::running);
    OutboxRow row;
    row.job_id = job.id;
    row.study_uid = job.study_uid;
    row.destination = "pacs";
    row.kind = "seg";
    row.path = "/results/seg.dcm";
    row.sop_class_uid = "1.2.840.10008.5.1.4.1.1.66.4";
    row.sop_instance_uid = "5.5";
    row.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    row.created_at = 22;
    store.finish_job(job.id, node::JobState::done, "", "/results/1.1/v1", 4, 22, {row});
    EXPECT_EQ(store.study("1.1")->state, node::StudyState::done);
    EXPECT_EQ(store.study("1.2")->state, node::StudyState::done);
    EXPECT_EQ(store.pending_outbox_of("1.2"), 1) << "the visit's deliveries hold both studies";
    EXPECT_TRUE(store.jobs("1.2", 10).empty());

    // Follow-up of the later visit looks at the first visit's analysis; the first visit never
    // compares with its own phases.
    const auto earlier = store.analyses_of_same_patient("1.9");
    ASSERT_EQ(earlier.size(), 1u);
    EXPECT_EQ(earlier[0].study_uid, "1.1");
    EXPECT_TRUE(store.analyses_of_same_patient("1.1").empty());

    // A third phase of the same visit arrives late: it joins the visit, and its job is the
    // visit's version 2 with every study queued.
    ASSERT_TRUE(store.record_instance(
        image("1.3", "1.3.1", "1.3.1.1", "P1", "9.1", "20240102", "100500", 30)));
    EXPECT_EQ(assign_visits(store), 1);
    EXPECT_EQ(store.visit_of("1.3"), "1.1");
    const JobRow late = store.create_job("1.3", 31);
    EXPECT_EQ(late.study_uid, "1.1");
    EXPECT_EQ(late.version, 2);
    for (const char* s : {"1.1", "1.2", "1.3"})
      EXPECT_EQ(store.study(s)->state, node::StudyState::queued) << s;
  }
  // The visit is durable.
  auto reopened_opened = open();
  StateStore& reopened = *reopened_opened;
  EXPECT_EQ(reopened.visit_of("1.3"), "1.1");
  EXPECT_EQ(reopened.studies_of_visit("1.1").size(), 3u);
  fs::remove_all(dir);
}

// A SEG drawn on the phase filed under the other study of the visit corrects the visit: its
// job is the visit's next version.
TEST_P(NodeStateStoreVisits, ACorrectionOfAnyStudyOfTheVisitQueuesTheVisitsNextVersion) {
  const auto dir = make_temp_dir("livernode-visits");
  auto opened = open();
  StateStore& store = *opened;
  ASSERT_NO_FATAL_FAILURE(record_two_phases(store));
  assign_visits(store);
  dicom::SegHeader seg;
  seg.sop_instance_uid = "7.7";
  seg.study_uid = "1.2";
  seg.referenced_series = {"1.2.1"};
  seg.segments.push_back({1, "Liver", "SCT:123037004", "SCT:10200004", "MANUAL"});
  EXPECT_NE(classify_incoming_seg(seg, store, "livernode").kind, SegDecision::correction)
      << "nothing analysed yet";
  const JobRow job = store.create_job("1.1", 20);
  ASSERT_TRUE(store.claim_next_job(21));
  store.finish_job(job.id, node::JobState::done, "", "/r", 4, 22);
  const SegDecision d = classify_incoming_seg(seg, store, "livernode");
  ASSERT_EQ(d.kind, SegDecision::correction) << d.reason;
  EXPECT_EQ(d.target_study, "1.1");
  InstanceRecord r = image("1.2", "7.8", "7.7", "P1", "9.1", "20240102", "120000", 30);
  r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.66.4";
  r.modality = "SEG";
  r.action = SeriesAction::correction;
  r.corrects_study = d.target_study;
  ASSERT_TRUE(store.record_instance(r));
  const auto jobs = store.jobs("1.1", 10);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].kind, "correction");
  EXPECT_EQ(jobs[0].version, 2);
  EXPECT_TRUE(store.jobs("1.2", 10).empty());
  EXPECT_EQ(store.study("1.2")->state, node::StudyState::queued);
  fs::remove_all(dir);
}

TEST_P(NodeStateStoreVisits, AStudyWhoseVisitWasPurgedStartsAVisitOfItsOwn) {
  const auto dir = make_temp_dir("livernode-visits");
  auto opened = open();
  StateStore& store = *opened;
  ASSERT_NO_FATAL_FAILURE(record_two_phases(store));
  assign_visits(store);
  const JobRow job = store.create_job("1.1", 20);
  ASSERT_TRUE(store.claim_next_job(21));
  store.finish_job(job.id, node::JobState::done, "", "/r", 0, 22);
  store.purge_study("1.1", 30);
  store.purge_study("1.2", 30);
  // The second study is sent again after both were purged.
  ASSERT_TRUE(store.record_instance(
      image("1.2", "1.2.1", "1.2.1.2", "P1", "9.1", "20240102", "100230", 40)));
  assign_visits(store);
  EXPECT_EQ(store.visit_of("1.2"), "1.2");
  EXPECT_EQ(store.create_job("1.2", 41).study_uid, "1.2");
  fs::remove_all(dir);
}

}  // namespace livernode::test
