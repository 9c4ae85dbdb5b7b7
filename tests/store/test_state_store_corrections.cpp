// Corrections sent back as DICOM SEG, in the state store on every backend: which SEGs the node
// takes as corrections of an analysed study, the correction jobs they queue, and the inputs of
// later jobs.
#include <gtest/gtest.h>

#include <fstream>

#include "livernode/node/ingest/routing.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/ingest/spool_recovery.h"
#include "livernode/node/workflow/job_inputs.h"
#include "livernode/study/corrections.h"
#include "state_store_backends.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;

// Which SEGs are corrections: by ReferencedSeriesSequence, by source images, by study; never
// our own results; never for a study the node did not analyse.
TEST_P(NodeStateStoreCorrections, CorrectionOnlyOfAnalysedSeriesAndNeverOurOwnResult) {
  const fs::path dir = make_temp_dir("livernode-incoming-seg");
  {
    auto store_ptr = open();
    node::StateStore& store = *store_ptr;
    node::InstanceRecord r;
    r.sop_instance_uid = "1.2.3.1.1";
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    r.study_uid = "1.2.3";
    r.series_uid = "1.2.3.1";
    r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    r.path = (dir / "a.dcm").string();
    r.action = node::SeriesAction::analyse;
    r.received_at = 100;
    ASSERT_TRUE(store.record_instance(r));
    dicom::SegHeader seg;
    seg.sop_instance_uid = "9.9.9";
    seg.study_uid = "1.2.3";
    seg.referenced_series = {"1.2.3.1"};
    seg.manufacturer = "OHIF";
    // Not yet analysed: not a correction.
    EXPECT_EQ(node::classify_incoming_seg(seg, store, "livernode").kind,
              node::SegDecision::unrelated);
    const auto job = store.create_job("1.2.3", 101);
    ASSERT_TRUE(store.claim_next_job(102));
    node::OutboxRow sent;
    sent.job_id = job.id;
    sent.study_uid = "1.2.3";
    sent.destination = "pacs";
    sent.kind = "seg";
    sent.path = (dir / "seg.dcm").string();
    sent.sop_class_uid = "1.2.840.10008.5.1.4.1.1.66.4";
    sent.sop_instance_uid = "5.5.5";
    sent.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    store.finish_job(job.id, node::JobState::done, "", (dir / "v1").string(), 1, 103, {sent});
    auto d = node::classify_incoming_seg(seg, store, "livernode");
    EXPECT_EQ(d.kind, node::SegDecision::correction) << d.reason;
    EXPECT_EQ(d.target_study, "1.2.3");
    EXPECT_EQ(d.target_series, "1.2.3.1");
    // By a frame's source image when the series reference is missing.
    seg.referenced_series.clear();
    seg.study_uid = "7.7.7";
    seg.referenced_instances = {"1.2.3.1.1"};
    d = node::classify_incoming_seg(seg, store, "livernode");
    EXPECT_EQ(d.kind, node::SegDecision::correction) << d.reason;
    EXPECT_EQ(d.target_study, "1.2.3");
    // References to nothing known, in a study never seen: stored, not a correction.
    seg.referenced_instances = {"4.4.4"};
    d = node::classify_incoming_seg(seg, store, "livernode");
    EXPECT_EQ(d.kind, node::SegDecision::unrelated);
    EXPECT_FALSE(d.reason.empty());
    // Our own SEG echoed back: by its SOP Instance UID, or by its Manufacturer.
    seg.referenced_series = {"1.2.3.1"};
    seg.sop_instance_uid = "5.5.5";
    EXPECT_EQ(node::classify_incoming_seg(seg, store, "livernode").kind,
              node::SegDecision::own_result);
    seg.sop_instance_uid = "5.5.6";
    seg.manufacturer = "livernode";
    seg.segments = {{1, "Liver", "SCT:123037004", "SCT:10200004", "AUTOMATIC"}};
    EXPECT_EQ(node::classify_incoming_seg(seg, store, "livernode").kind,
              node::SegDecision::own_result);
    // A tool that kept our Manufacturer but marks its edits: a correction after all.
    seg.segments.push_back({2, "Lesion 1", "SCT:49755003", "SCT:108369006", "MANUAL"});
    EXPECT_EQ(node::classify_incoming_seg(seg, store, "livernode").kind,
              node::SegDecision::correction);
    // A correction instance does not reopen the finished study.
    r.sop_instance_uid = "9.9.9";
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.66.4";
    r.series_uid = "9.9";
    r.action = node::SeriesAction::correction;
    r.corrects_study = "1.2.3";
    r.received_at = 200;
    ASSERT_TRUE(store.record_instance(r));
    // ... and queues its correction job with it.
    const auto jobs = store.jobs("1.2.3", 10);
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_EQ(jobs[0].kind, "correction");
    EXPECT_EQ(jobs[0].correction_sop, "9.9.9");
    EXPECT_EQ(jobs[0].version, 2);
    EXPECT_EQ(jobs[1].kind, "analysis");
    EXPECT_EQ(store.study("1.2.3")->state, node::StudyState::queued);
    // A re-sent correction is stored once and queues nothing.
    EXPECT_FALSE(store.record_instance(r));
    EXPECT_EQ(store.jobs("1.2.3", 10).size(), 2u);
    // Our own result echoed back does not reopen the study either.
    r.sop_instance_uid = "5.5.5";
    r.action = node::SeriesAction::derived;
    r.corrects_study.clear();
    ASSERT_TRUE(store.record_instance(r));
    EXPECT_EQ(store.study("1.2.3")->state, node::StudyState::queued);
    EXPECT_EQ(store.jobs("1.2.3", 10).size(), 2u);
  }
  // The job survives a restart as a correction; a later job of the same study waits for it.
  {
    auto store_ptr = open();
    node::StateStore& store = *store_ptr;
    const auto job = store.claim_next_job(300);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->kind, "correction");
    EXPECT_EQ(job->correction_sop, "9.9.9");
    store.create_job("1.2.3", 301);
    EXPECT_FALSE(store.claim_next_job(302));
    store.create_job("4.5.6", 303);
    const auto other = store.claim_next_job(304);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->study_uid, "4.5.6");
    store.finish_job(job->id, node::JobState::done, "", "", 0, 305);
    const auto next = store.claim_next_job(306);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->study_uid, "1.2.3");
    EXPECT_EQ(next->version, 3);
  }
  fs::remove_all(dir);
}

// Corrections stay: a later job of the study (a re-analysis after new images, or another
// correction) gets every earlier finished correction SEG, oldest first, each with our SEG of the
// version it corrected.
// A correction SEG whose row the state database lost (its commit does not wait for the disk) is
// recognised again when the spool is recovered at start-up, and its correction job queued, as on
// receipt. The SEG is one another tool wrote (dcmqi's liver SEG of pydicom's test files); the
// study of the series it refers to has a finished analysis.
TEST_P(NodeStateStoreCorrections, RecoveredFromTheSpoolACorrectionQueuesItsJob) {
  const fs::path foreign = fs::path(LIVERNODE_PYDICOM_FILES) / "liver_1frame.dcm";
  LIVERNODE_REQUIRE_DATA(foreign);
  const fs::path dir = make_temp_dir("livernode-recovered-seg");
  auto store_ptr = open();
  node::StateStore& store = *store_ptr;
  node::InstanceRecord ct;
  ct.sop_instance_uid = "1.2.3.1.1";
  ct.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  ct.study_uid = "1.2.3";
  ct.series_uid = "1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1";  // its reference
  ct.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  ct.path = (dir / "ct.dcm").string();
  ct.action = node::SeriesAction::analyse;
  ct.received_at = 100;
  ASSERT_TRUE(store.record_instance(ct));
  const auto first = store.create_job("1.2.3", 101);
  ASSERT_TRUE(store.claim_next_job(102));
  store.finish_job(first.id, node::JobState::done, "", (dir / "v1").string(), 1, 103);

  const std::string study = "1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1";
  const std::string series = "1.2.276.0.7230010.3.1.3.0.42154.1458337731.665795";
  const std::string sop = "1.2.276.0.7230010.3.1.4.0.42154.1458337731.665796";
  node::Spool spool(dir / "spool");
  fs::create_directories(spool.study_dir(study) / series);
  fs::copy_file(foreign, spool.instance_path(study, series, sop));

  const auto recovered = node::recover_spool(spool, store, node::Router(config::RoutingConfig{}));
  EXPECT_EQ(recovered.recorded, 1u);
  const auto jobs = store.jobs("1.2.3", 10);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].kind, "correction");
  EXPECT_EQ(jobs[0].correction_sop, sop);
  EXPECT_EQ(jobs[0].state, node::JobState::queued);
  const auto seg_series = store.series_of(study);
  ASSERT_EQ(seg_series.size(), 1u);
  EXPECT_EQ(seg_series[0].action, node::SeriesAction::correction);
  // Found again at the next start: nothing more.
  EXPECT_EQ(node::recover_spool(spool, store, node::Router(config::RoutingConfig{})).recorded, 0u);
  EXPECT_EQ(store.jobs("1.2.3", 10).size(), 2u);
  fs::remove_all(dir);
}

TEST_P(NodeStateStoreCorrections, LaterJobsApplyTheEarlierCorrections) {
  const fs::path dir = make_temp_dir("livernode-correction-inputs");
  auto store_ptr = open();
  node::StateStore& store = *store_ptr;
  auto record = [&](const std::string& sop, node::SeriesAction action, const std::string& target) {
    node::InstanceRecord r;
    r.sop_instance_uid = sop;
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.66.4";
    r.study_uid = "1.2.3";
    r.series_uid = sop + ".1";
    r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    r.path = (dir / (sop + ".dcm")).string();
    std::ofstream(r.path) << "x";
    r.action = action;
    r.corrects_study = target;
    r.received_at = 1;
    ASSERT_TRUE(store.record_instance(r));
  };
  auto finish = [&](int version) {
    const auto job = store.claim_next_job(2);
    ASSERT_TRUE(job);
    ASSERT_EQ(job->version, version);
    const fs::path result = dir / ("v" + std::to_string(version));
    fs::create_directories(result / "1");
    std::ofstream(result / "1" / "seg.dcm") << "x";
    store.finish_job(job->id, node::JobState::done, "", result.string(), 1, 3);
  };
  record("1.2.3.9", node::SeriesAction::analyse, "");
  store.create_job("1.2.3", 1);
  finish(1);
  record("7.1", node::SeriesAction::correction, "1.2.3");  // v2 corrects v1
  finish(2);
  record("7.2", node::SeriesAction::correction, "1.2.3");  // v3 corrects v2
  const auto v3 = store.claim_next_job(4);
  ASSERT_TRUE(v3);
  EXPECT_EQ(v3->kind, "correction");
  study::AnalyseFolderOptions options;
  EXPECT_EQ(node::add_correction_inputs(*v3, store, options), "");
  ASSERT_EQ(options.corrections.size(), 2u);
  EXPECT_EQ(options.corrections[0].file, dir / "7.1.dcm");
  ASSERT_EQ(options.corrections[0].previous.size(), 1u);
  EXPECT_EQ(options.corrections[0].previous[0], dir / "v1" / "1" / "seg.dcm");
  EXPECT_EQ(options.corrections[1].file, dir / "7.2.dcm");
  ASSERT_EQ(options.corrections[1].previous.size(), 1u);
  EXPECT_EQ(options.corrections[1].previous[0], dir / "v2" / "1" / "seg.dcm");
  ASSERT_TRUE(store.study("1.2.3"));
  EXPECT_EQ(store.study("1.2.3")->state, node::StudyState::running);
  store.finish_job(v3->id, node::JobState::failed, "changed nothing", "", 0, 5);
  // The results of version 2 stand: the study is done at once, never failed in between.
  EXPECT_EQ(store.study("1.2.3")->state, node::StudyState::done);
  // New images: the re-analysis keeps the correction that worked, not the failed one.
  const auto v4 = store.create_job("1.2.3", 6);
  study::AnalyseFolderOptions again;
  EXPECT_EQ(node::add_correction_inputs(v4, store, again), "");
  ASSERT_EQ(again.corrections.size(), 1u);
  EXPECT_EQ(again.corrections[0].file, dir / "7.1.dcm");
  // A correction whose SEG left the spool cannot run.
  record("7.3", node::SeriesAction::correction, "1.2.3");
  fs::remove(dir / "7.3.dcm");
  const auto v5 = store.jobs("1.2.3", 1)[0];
  study::AnalyseFolderOptions missing;
  EXPECT_NE(node::add_correction_inputs(v5, store, missing).find("no longer in the spool"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace livernode::test
