// Corrections sent back as DICOM SEG: what the segments stand for, and which SEGs the node takes
// as corrections of an analysed study (the analyses and the round trip with real peers:
// tests/integration/test_corrections.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "livernode/node/ingest/routing.h"
#include "livernode/node/ingest/spool_recovery.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/node/workflow/job_inputs.h"
#include "livernode/study/corrections.h"
#include "orthanc_peer.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(SegmentRoles, CodesFirstLabelsForOurOwnLiverPartsAndAsFallback) {
  using study::segment_role;
  using study::SegmentRole;
  EXPECT_EQ(segment_role("SCT:10200004", "Liver"), SegmentRole::liver);
  EXPECT_EQ(segment_role("SCT:10200004", "liver (edited)"), SegmentRole::liver);
  EXPECT_EQ(segment_role("SCT:108369006", "Lesion 2"), SegmentRole::lesion);
  EXPECT_EQ(segment_role("SCT:108369006", "Tumor"), SegmentRole::lesion);
  EXPECT_EQ(segment_role("SCT:4147007", "Segment_1"), SegmentRole::lesion);
  EXPECT_EQ(segment_role("SCT:52988006", "whatever"), SegmentRole::lesion);
  // Our own liver parts carry the liver's code; the label tells them apart.
  EXPECT_EQ(segment_role("SCT:10200004", "FLR right hemihepatectomy"), SegmentRole::remnant);
  EXPECT_EQ(segment_role("SCT:10200004", "Future liver remnant"), SegmentRole::remnant);
  EXPECT_EQ(segment_role("SCT:10200004", "Couinaud VII"), SegmentRole::couinaud);
  // Codes a tool made up: the label decides.
  EXPECT_EQ(segment_role("99X:1", "HCC"), SegmentRole::lesion);
  EXPECT_EQ(segment_role("", "Liver"), SegmentRole::liver);
  EXPECT_EQ(segment_role("SCT:64033007", "Kidney"), SegmentRole::other);
  EXPECT_EQ(segment_role("", "Segment_3"), SegmentRole::other);
}

// A state database written before corrections existed (and before the schema version was kept:
// user_version 0) gains the job columns; its jobs are analyses.
TEST(IncomingSeg, OlderStateDatabaseIsUpgradedInPlace) {
  const fs::path dir = make_temp_dir("livernode-state-upgrade");
  const fs::path db = dir / "state.sqlite";
  {
    node::SqliteStateStore store(db);
    store.create_job("1.2.3", 10);
  }
  const auto dropped = run_command("sqlite3 '" + db.string() +
                                   "' 'ALTER TABLE jobs DROP COLUMN kind; ALTER TABLE jobs DROP "
                                   "COLUMN correction_sop; PRAGMA user_version=0;'");
  ASSERT_EQ(dropped.status, 0) << dropped.output;
  node::SqliteStateStore store(db);
  const auto jobs = store.jobs("1.2.3", 10);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].kind, "analysis");
  EXPECT_EQ(jobs[0].correction_sop, "");
  fs::remove_all(dir);
}

}  // namespace livernode::test
