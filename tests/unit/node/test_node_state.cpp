// The node's parts below the network service: UID grammar of spool paths, routing rules, the
// SQLite state store (job versions, crash recovery, outbox). The exporter against real peers:
// tests/integration/test_node_exporter.cpp.
#include <gtest/gtest.h>
// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/node/http/http_server.h"
#include "livernode/node/ingest/routing.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/ingest/spool_recovery.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/node/workflow/exporter.h"
#include "livernode/node/workflow/study_tracker.h"
#include "livernode/node/workflow/worker_pool.h"
#include "livernode/phantom/phantom.h"
#include "orthanc_peer.h"
#include "state_store_backends.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using namespace livernode::node;

TEST(NodeSpool, OnlyDicomUidsNameSpoolPaths) {
  EXPECT_TRUE(is_valid_uid("1.2.840.10008.5.1.4.1.1.2"));
  EXPECT_TRUE(is_valid_uid("0"));
  EXPECT_FALSE(is_valid_uid(""));
  EXPECT_FALSE(is_valid_uid("../../etc"));
  EXPECT_FALSE(is_valid_uid("1.2/3"));
  EXPECT_FALSE(is_valid_uid("1..2"));
  EXPECT_FALSE(is_valid_uid(".1.2"));
  EXPECT_FALSE(is_valid_uid("1.2."));
  EXPECT_FALSE(is_valid_uid(std::string(65, '1')));
  EXPECT_TRUE(is_valid_uid(std::string(64, '1')));
  Spool spool("/spool");
  EXPECT_EQ(spool.instance_path("1.2", "1.3", "1.4"), fs::path("/spool/1.2/1.3/1.4.dcm"));
  EXPECT_THROW(spool.instance_path("1.2", "..", "1.4"), node::NodeError);
  try {
    spool.study_dir("../x");
    ADD_FAILURE() << "a hostile Study Instance UID was accepted";
  } catch (const node::NodeError& e) {
    EXPECT_EQ(e.kind(), node::NodeErrorKind::kInput);
    EXPECT_NE(std::string(e.what()).find("invalid Study Instance UID"), std::string::npos);
  }
}

TEST(NodeSpool, StoreIsAtomicAndLeavesNoTempFileOnFailure) {
  const auto dir = make_temp_dir("livernode-spool");
  Spool spool(dir);
  const auto path = spool.store("1.2", "1.3", "1.4", [](const fs::path& temp, std::string&) {
    std::ofstream(temp) << "data";
    return true;
  });
  EXPECT_EQ(path, dir / "1.2" / "1.3" / "1.4.dcm");
  EXPECT_TRUE(fs::exists(path));
  EXPECT_THROW(spool.store("1.2", "1.3", "1.5",
                           [](const fs::path& temp, std::string& error) {
                             std::ofstream(temp) << "half";
                             error = "disk full";
                             return false;
                           }),
               std::runtime_error);
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  fs::remove_all(dir);
}

TEST(NodeRouting, FirstMatchingRuleDecides) {
  config::RoutingConfig routing;
  routing.rules = {
      {"skip-scouts", {}, {}, {}, {"scout|topogram"}, config::RuleAction::ignore},
      {"liver-ct", {"CT"}, {"PACS1"}, {"abdomen|liver"}, {}, config::RuleAction::analyse},
  };
  Router router(routing);
  EXPECT_EQ(router.route({"CT", "PACS1", "ABDOMEN", "Portal venous"}).action,
            SeriesAction::analyse);
  EXPECT_EQ(router.route({"CT", "PACS1", "ABDOMEN", "Portal venous"}).rule, "liver-ct");
  EXPECT_EQ(router.route({"CT", "PACS1", "ABDOMEN", "Topogram"}).action, SeriesAction::ignore);
  EXPECT_EQ(router.route({"CT", "PACS2", "ABDOMEN", "Portal"}).action, SeriesAction::unrouted);
  EXPECT_EQ(router.route({"MR", "PACS1", "LIVER", "t1"}).action, SeriesAction::unrouted);
  EXPECT_EQ(router.route({"CT", "PACS1", "CHEST", "lung"}).action, SeriesAction::unrouted);
}

// The exporter sends a real CT instance to Orthanc (delivered on status 0000) and keeps
// retrying a destination that is down until max_attempts, then leaves it dead for an admin
// to re-queue.
namespace {

// Runs `sql` on the database file `file` with the SQLite library itself.
void run_sql(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

}  // namespace

// A state database written before the node kept the study's header (no schema version; the
// studies, series and jobs tables as they were then) opens with this version: the new columns
// are added, the old rows are kept (their date and modality taken from their series), and the
// version is recorded so that the next start does nothing.
TEST(NodeStateStoreSqlite, MigratesADatabaseOfThePreviousVersion) {
  const auto dir = make_temp_dir("livernode-migrate");
  const fs::path file = dir / "state.sqlite";
  run_sql(file, R"SQL(
CREATE TABLE studies (
  study_uid TEXT PRIMARY KEY, state TEXT NOT NULL, first_arrival REAL NOT NULL,
  last_arrival REAL NOT NULL, instances INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0, calling_ae TEXT NOT NULL DEFAULT '',
  state_changed_at REAL NOT NULL, visit_uid TEXT NOT NULL DEFAULT '');
CREATE TABLE series (
  series_uid TEXT PRIMARY KEY, study_uid TEXT NOT NULL, modality TEXT NOT NULL DEFAULT '',
  body_part TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL, rule TEXT NOT NULL DEFAULT '', instances INTEGER NOT NULL DEFAULT 0,
  first_arrival REAL NOT NULL, last_arrival REAL NOT NULL, complete INTEGER NOT NULL DEFAULT 0,
  frame_of_reference_uid TEXT NOT NULL DEFAULT '', study_date TEXT NOT NULL DEFAULT '',
  acquisition_time TEXT NOT NULL DEFAULT '');
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, study_uid TEXT NOT NULL, version INTEGER NOT NULL,
  state TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL NOT NULL DEFAULT 0,
  finished_at REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  result_dir TEXT NOT NULL DEFAULT '', objects INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, UNIQUE(study_uid, version));
INSERT INTO studies VALUES('1.7', 'done', 10, 20, 48, 4800, 'OLDPACS', 30, '');
INSERT INTO series VALUES('1.7.1', '1.7', 'CT', 'ABDOMEN', 'portal', 'analyse', 'liver', 48,
  10, 20, 1, '1.7.9', '20250102', '101500');
INSERT INTO jobs(study_uid, version, state, created_at, error) VALUES('1.7', 1, 'done', 25, '');
)SQL");

  {
    SqliteStateStore store(file);
    EXPECT_EQ(store.schema_version(), 3);
    const auto old = store.study("1.7");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->state, node::StudyState::done);
    EXPECT_EQ(old->instances, 48);
    EXPECT_EQ(old->calling_ae, "OLDPACS");
    EXPECT_EQ(old->study_date, "20250102");  // from its series
    EXPECT_EQ(old->modality, "CT");
    EXPECT_EQ(old->accession_number, "");  // not kept then
    EXPECT_EQ(old->study_description, "");
    const auto jobs = store.jobs("1.7", 10);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].kind, "analysis");

    // A new study: its header from its first instance; a later instance changes nothing.
    auto r = analysed_ct_instance("1.8.1", "1.8.2", 100);
    r.study_uid = "1.8";
    r.accession_number = "ACC-2026-0042";
    r.study_date = "20261206";
    r.study_time = "083015.5";
    r.study_description = "CT ABDOMEN LIVER";
    ASSERT_TRUE(store.record_instance(r));
    auto later = r;
    later.sop_instance_uid = "1.8.3";
    later.accession_number = "OTHER";
    later.study_description = "OTHER";
    later.received_at = 101;
    ASSERT_TRUE(store.record_instance(later));
    // The old study receives an instance: its empty header values are filled, the others kept.
    auto more = analysed_ct_instance("1.7.5", "1.7.1", 200);
    more.study_uid = "1.7";
    more.accession_number = "ACC-OLD";
    more.study_date = "20250103";
    more.modality = "MR";
    ASSERT_TRUE(store.record_instance(more));

    const auto all = store.studies(std::nullopt, 10);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].study_uid, "1.7") << "newest (latest first arrival) first";
    EXPECT_EQ(all[1].study_uid, "1.8");
    EXPECT_EQ(all[1].accession_number, "ACC-2026-0042");
    EXPECT_EQ(all[1].study_date, "20261206");
    EXPECT_EQ(all[1].study_time, "083015.5");
    EXPECT_EQ(all[1].modality, "CT");
    EXPECT_EQ(all[1].study_description, "CT ABDOMEN LIVER");
    EXPECT_EQ(all[0].accession_number, "ACC-OLD");
    EXPECT_EQ(all[0].study_date, "20250102");
    EXPECT_EQ(all[0].modality, "CT");

    // /api/studies carries them.
    config::Config cfg;
    node::Runtime rt(std::make_shared<const node::RuntimeConfig>(cfg),
                     std::make_shared<SqliteStateStore>(file));
    const auto api = nlohmann::json::parse(handle_http_request(rt, "GET", "/api/studies", "").body);
    ASSERT_EQ(api.size(), 2u);
    EXPECT_EQ(api[1]["accession_number"], "ACC-2026-0042");
    EXPECT_EQ(api[1]["study_date"], "20261206");
    EXPECT_EQ(api[1]["study_time"], "083015.5");
    EXPECT_EQ(api[1]["modality"], "CT");
    EXPECT_EQ(api[1]["study_description"], "CT ABDOMEN LIVER");
  }
  {
    SqliteStateStore again(file);  // already current: nothing to do, nothing lost
    EXPECT_EQ(again.schema_version(), 3);
    EXPECT_EQ(again.studies(std::nullopt, 10).size(), 2u);
  }
  // A database written by a later version is refused rather than misread.
  run_sql(file, "PRAGMA user_version=99");
  try {
    SqliteStateStore newer(file);
    ADD_FAILURE() << "a database of schema version 99 was opened";
  } catch (const StateStoreError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// The study's header as the first instance has it, as UTF-8 for the JSON API: Latin-1 text
// (ISO_IR 100, the most common repertoire besides ASCII) converted, UTF-8 kept, bytes of
// another repertoire that are not UTF-8 shown as '?'.
TEST(NodeStateStore, StudyHeaderOfAnInstanceIsReadAsUtf8) {
  auto describe = [](const char* charset, const std::string& description) {
    DcmFileFormat ff;
    DcmDataset& d = *ff.getDataset();
    if (*charset) d.putAndInsertString(DCM_SpecificCharacterSet, charset);
    d.putAndInsertString(DCM_AccessionNumber, "A-17 ");
    d.putAndInsertString(DCM_StudyDate, "20261206");
    d.putAndInsertString(DCM_StudyTime, "101500");
    d.putAndInsertString(DCM_Modality, "CT");
    d.putAndInsertString(DCM_StudyDescription, description.c_str());
    InstanceRecord r;
    describe_instance(ff, r);
    return r;
  };
  const auto latin1 = describe("ISO_IR 100", "Leber \xC4nderung");
  EXPECT_EQ(latin1.accession_number, "A-17");
  EXPECT_EQ(latin1.study_date, "20261206");
  EXPECT_EQ(latin1.study_time, "101500");
  EXPECT_EQ(latin1.modality, "CT");
  EXPECT_EQ(latin1.study_description, "Leber \xC3\x84nderung");
  EXPECT_EQ(describe("", "Leber \xC4").study_description, "Leber \xC3\x84");
  EXPECT_EQ(describe("ISO_IR 192", "Leber \xC3\x84").study_description, "Leber \xC3\x84");
  EXPECT_EQ(describe("ISO_IR 144", "\xCF\xC5\xD7").study_description, "???");
  // Latin-1 that happens to look like an overlong UTF-8 sequence is still Latin-1.
  EXPECT_EQ(describe("ISO_IR 100", "\xC0\x80").study_description, "\xC3\x80\xC2\x80");
}

}  // namespace livernode::test
