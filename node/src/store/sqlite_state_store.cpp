#include "livernode/node/store/sqlite_state_store.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstring>

namespace livernode::node {

const char* to_string(SeriesAction action) {
  switch (action) {
    case SeriesAction::analyse:
      return "analyse";
    case SeriesAction::ignore:
      return "ignore";
    case SeriesAction::unrouted:
      return "unrouted";
    case SeriesAction::correction:
      return "correction";
    case SeriesAction::derived:
      return "derived";
  }
  return "unrouted";
}

SeriesAction series_action_from_string(const std::string& text) {
  if (text == "analyse") return SeriesAction::analyse;
  if (text == "ignore") return SeriesAction::ignore;
  if (text == "correction") return SeriesAction::correction;
  if (text == "derived") return SeriesAction::derived;
  return SeriesAction::unrouted;
}

namespace {

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS studies (
  study_uid TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  first_arrival REAL NOT NULL,
  last_arrival REAL NOT NULL,
  instances INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  calling_ae TEXT NOT NULL DEFAULT '',
  state_changed_at REAL NOT NULL,
  visit_uid TEXT NOT NULL DEFAULT '',
  accession_number TEXT NOT NULL DEFAULT '',
  study_date TEXT NOT NULL DEFAULT '',
  study_time TEXT NOT NULL DEFAULT '',
  modality TEXT NOT NULL DEFAULT '',
  study_description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS series (
  series_uid TEXT PRIMARY KEY,
  study_uid TEXT NOT NULL,
  modality TEXT NOT NULL DEFAULT '',
  body_part TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  rule TEXT NOT NULL DEFAULT '',
  instances INTEGER NOT NULL DEFAULT 0,
  first_arrival REAL NOT NULL,
  last_arrival REAL NOT NULL,
  complete INTEGER NOT NULL DEFAULT 0,
  frame_of_reference_uid TEXT NOT NULL DEFAULT '',
  study_date TEXT NOT NULL DEFAULT '',
  acquisition_time TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS series_by_study ON series(study_uid);
CREATE TABLE IF NOT EXISTS instances (
  sop_instance_uid TEXT PRIMARY KEY,
  sop_class_uid TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  series_uid TEXT NOT NULL,
  transfer_syntax_uid TEXT NOT NULL,
  path TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  calling_ae TEXT NOT NULL,
  peer_address TEXT NOT NULL,
  patient_id TEXT NOT NULL DEFAULT '',
  received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_study ON instances(study_uid);
-- The patient of each study, kept after the study is purged so that a later study of the
-- patient can say that the earlier results were purged.
CREATE TABLE IF NOT EXISTS study_patients (
  study_uid TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS study_patients_by_patient ON study_patients(patient_id);
INSERT OR IGNORE INTO study_patients(study_uid, patient_id)
  SELECT study_uid, MAX(patient_id) FROM instances WHERE patient_id != '' GROUP BY study_uid;
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  study_uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_at REAL NOT NULL,
  started_at REAL NOT NULL DEFAULT 0,
  finished_at REAL NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  result_dir TEXT NOT NULL DEFAULT '',
  objects INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL DEFAULT 'analysis',
  correction_sop TEXT NOT NULL DEFAULT '',
  UNIQUE(study_uid, version)
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  study_uid TEXT NOT NULL,
  destination TEXT NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sop_class_uid TEXT NOT NULL,
  sop_instance_uid TEXT NOT NULL,
  transfer_syntax_uid TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  delivered_at REAL NOT NULL DEFAULT 0,
  UNIQUE(job_id, destination, sop_instance_uid)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
)SQL";

}  // namespace

// A prepared statement bound positionally (1-based), finalised on destruction.
class SqliteStateStore::Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw StateStoreError(std::string("state store: cannot prepare statement: ") +
                            sqlite3_errmsg(db));
  }
  // Uses the statement kept in `slot`, preparing it there on first use; reset, not finalised,
  // on destruction.
  Statement(sqlite3* db, sqlite3_stmt** slot, const char* sql) : db_(db), slot_(slot) {
    if (!*slot && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, nullptr) !=
                      SQLITE_OK)
      throw StateStoreError(std::string("state store: cannot prepare statement: ") +
                            sqlite3_errmsg(db));
    stmt_ = *slot;
  }
  ~Statement() {
    if (!slot_) {
      sqlite3_finalize(stmt_);
      return;
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, const char* v) { return bind(i, std::string(v)); }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StateStoreError(std::string("state store: ") + sqlite3_errmsg(db_));
  }
  void run() {
    while (step()) {
    }
  }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(stmt_, c);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  double real(int c) const { return sqlite3_column_double(stmt_, c); }
  std::int64_t integer(int c) const { return sqlite3_column_int64(stmt_, c); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3_stmt** slot_ = nullptr;  // set: a kept statement
};

namespace {

// BEGIN IMMEDIATE ... COMMIT, rolled back when an exception leaves the scope.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    run("COMMIT");
    done_ = true;
  }

 private:
  void run(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : "unknown error";
      sqlite3_free(err);
      throw StateStoreError(std::string("state store: ") + sql + ": " + message);
    }
  }
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace

SqliteStateStore::SqliteStateStore(const std::filesystem::path& file) : file_(file) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  if (sqlite3_open_v2(file.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StateStoreError("cannot open state database " + file.string() + ": " + message);
  }
  sqlite3_busy_timeout(db_, 10000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
  bool fresh = false;
  {
    Statement s(db_, "SELECT COUNT(*) FROM sqlite_master");
    fresh = s.step() && s.integer(0) == 0;
  }
  exec(kSchema);
  migrate(fresh);
  if (sqlite3_open_v2(file.c_str(), &reader_, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = reader_ ? sqlite3_errmsg(reader_) : "out of memory";
    sqlite3_close(reader_);
    reader_ = nullptr;
    sqlite3_close(db_);
    db_ = nullptr;
    throw StateStoreError("cannot open state database " + file.string() + ": " + message);
  }
  sqlite3_busy_timeout(reader_, 10000);
}

namespace {

// The schema version this build writes, kept in PRAGMA user_version. Databases made before
// versioning (0) may lack any column added since the first release; each step adds only what
// is missing, so a step also runs safely on a database whose CREATE TABLE already had it.
constexpr int kSchemaVersion = 2;

struct AddedColumn {
  int version;  // the schema version that has it
  const char* table;
  const char* definition;
};

constexpr AddedColumn kAddedColumns[] = {
    // Corrections and visits (a study without a visit is its own visit).
    {1, "jobs", "kind TEXT NOT NULL DEFAULT 'analysis'"},
    {1, "jobs", "correction_sop TEXT NOT NULL DEFAULT ''"},
    {1, "studies", "visit_uid TEXT NOT NULL DEFAULT ''"},
    {1, "series", "frame_of_reference_uid TEXT NOT NULL DEFAULT ''"},
    {1, "series", "study_date TEXT NOT NULL DEFAULT ''"},
    {1, "series", "acquisition_time TEXT NOT NULL DEFAULT ''"},
    // The study's header, for the admin page and /api/studies.
    {2, "studies", "accession_number TEXT NOT NULL DEFAULT ''"},
    {2, "studies", "study_date TEXT NOT NULL DEFAULT ''"},
    {2, "studies", "study_time TEXT NOT NULL DEFAULT ''"},
    {2, "studies", "modality TEXT NOT NULL DEFAULT ''"},
    {2, "studies", "study_description TEXT NOT NULL DEFAULT ''"},
};

}  // namespace

int SqliteStateStore::schema_version() {
  std::lock_guard lock(mutex_);
  Statement s(db_, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

void SqliteStateStore::migrate(bool fresh) {
  int version = 0;
  {
    Statement s(db_, "PRAGMA user_version");
    if (s.step()) version = static_cast<int>(s.integer(0));
  }
  if (version > kSchemaVersion)
    throw StateStoreError("state database " + file_.string() + " has schema version " +
                          std::to_string(version) + ", newer than this livernode's (" +
                          std::to_string(kSchemaVersion) +
                          "): it was written by a later release; run that release or restore a "
                          "backup made by this one");
  for (int to = version + 1; to <= kSchemaVersion; ++to) {
    Transaction tx(db_);
    for (const auto& c : kAddedColumns) {
      if (c.version != to) continue;
      const std::string definition = c.definition;
      const std::string name = definition.substr(0, definition.find(' '));
      bool present = false;
      {
        Statement s(db_, std::string("SELECT 1 FROM pragma_table_info('") + c.table +
                             "') WHERE name=?");
        s.bind(1, name);
        present = s.step();
      }
      if (!present)
        exec(("ALTER TABLE " + std::string(c.table) + " ADD COLUMN " + definition).c_str());
    }
    if (to == 2) {
      // Studies received before: their date and modality from their series (the accession
      // number and description were not kept, and stay empty).
      exec(
          "UPDATE studies SET "
          "study_date=COALESCE((SELECT study_date FROM series WHERE series.study_uid="
          "studies.study_uid AND study_date<>'' ORDER BY first_arrival LIMIT 1),''), "
          "modality=COALESCE((SELECT modality FROM series WHERE series.study_uid="
          "studies.study_uid AND modality<>'' ORDER BY first_arrival LIMIT 1),'') "
          "WHERE study_date='' AND modality=''");
    }
    exec(("PRAGMA user_version=" + std::to_string(to)).c_str());
    tx.commit();
    if (!fresh)
      spdlog::info("event=state_schema_migrated file={} version={}", file_.string(), to);
  }
  exec("CREATE INDEX IF NOT EXISTS studies_by_visit ON studies(visit_uid)");
  exec("CREATE INDEX IF NOT EXISTS studies_by_arrival ON studies(first_arrival)");
}

SqliteStateStore::~SqliteStateStore() {
  for (sqlite3_stmt* s : {lookup_, insert_instance_, insert_study_patient_, upsert_series_,
                          upsert_study_})
    sqlite3_finalize(s);
  if (reader_) sqlite3_close(reader_);
  if (db_) sqlite3_close(db_);
}

void SqliteStateStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    throw StateStoreError("state database " + file_.string() + ": " + message);
  }
}

std::optional<std::string> SqliteStateStore::instance_path(const std::string& sop) {
  std::lock_guard lock(reader_mutex_);
  Statement s(reader_, &lookup_, "SELECT path FROM instances WHERE sop_instance_uid=?");
  s.bind(1, sop);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

// The instance is on stable storage when this runs (in the ingest journal, or its file fsynced),
// and the spool is walked at start-up (recover_spool), so this commit does not wait for the disk: the next
// commit that does (every other write is synchronous=FULL) makes it durable with it. That
// saves one flush per received instance.
bool SqliteStateStore::record_instance(const InstanceRecord& r) {
  std::lock_guard lock(mutex_);
  exec("PRAGMA synchronous=NORMAL");
  struct RestoreFull {
    sqlite3* db;
    ~RestoreFull() { sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr); }
  } restore{db_};
  Transaction tx(db_);
  {
    Statement s(db_, &insert_instance_,
                "INSERT OR IGNORE INTO instances(sop_instance_uid, sop_class_uid, study_uid, "
                "series_uid, transfer_syntax_uid, path, size_bytes, calling_ae, peer_address, "
                "patient_id, received_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, r.sop_instance_uid)
        .bind(2, r.sop_class_uid)
        .bind(3, r.study_uid)
        .bind(4, r.series_uid);
    s.bind(5, r.transfer_syntax_uid).bind(6, r.path).bind(7, r.size_bytes).bind(8, r.calling_ae);
    s.bind(9, r.peer_address).bind(10, r.patient_id).bind(11, r.received_at);
    s.run();
  }
  if (sqlite3_changes(db_) == 0) return false;  // already recorded
  if (!r.patient_id.empty()) {
    Statement(db_, &insert_study_patient_,
              "INSERT OR IGNORE INTO study_patients(study_uid, patient_id) VALUES(?,?)")
        .bind(1, r.study_uid)
        .bind(2, r.patient_id)
        .run();
  }
  {
    Statement s(
        db_, &upsert_series_,
        "INSERT INTO series(series_uid, study_uid, modality, body_part, description, action, "
        "rule, instances, first_arrival, last_arrival, complete, frame_of_reference_uid, "
        "study_date, acquisition_time) VALUES(?,?,?,?,?,?,?,1,?,?,0,?,?,?) "
        "ON CONFLICT(series_uid) DO UPDATE SET instances=instances+1, "
        "last_arrival=excluded.last_arrival, complete=0");
    s.bind(1, r.series_uid).bind(2, r.study_uid).bind(3, r.modality).bind(4, r.body_part);
    s.bind(5, r.series_description).bind(6, to_string(r.action)).bind(7, r.rule);
    s.bind(8, r.received_at).bind(9, r.received_at).bind(10, r.frame_of_reference_uid);
    s.bind(11, r.study_date).bind(12, r.acquisition_time);
    s.run();
  }
  {
    Statement s(
        db_, &upsert_study_,
        "INSERT INTO studies(study_uid, state, first_arrival, last_arrival, instances, bytes, "
        "calling_ae, state_changed_at, accession_number, study_date, study_time, modality, "
        "study_description) VALUES(?1,CASE WHEN ?7 THEN 'stored' ELSE 'receiving' END,"
        "?2,?3,1,?4,?5,?6,?8,?9,?10,?11,?12) "
        "ON CONFLICT(study_uid) DO UPDATE SET instances=instances+1, bytes=bytes+excluded.bytes, "
        // The header of the first instance that has each value.
        "accession_number=CASE WHEN accession_number='' THEN excluded.accession_number ELSE "
        "accession_number END, "
        "study_date=CASE WHEN study_date='' THEN excluded.study_date ELSE study_date END, "
        "study_time=CASE WHEN study_time='' THEN excluded.study_time ELSE study_time END, "
        "modality=CASE WHEN modality='' THEN excluded.modality ELSE modality END, "
        "study_description=CASE WHEN study_description='' THEN excluded.study_description ELSE "
        "study_description END, "
        "last_arrival=excluded.last_arrival, "
        "first_arrival=CASE WHEN state IN ('receiving') OR ?7 THEN first_arrival ELSE "
        "excluded.first_arrival END, "
        "state_changed_at=CASE WHEN state='receiving' OR ?7 THEN state_changed_at ELSE "
        "excluded.state_changed_at END, "
        "state=CASE WHEN ?7 THEN state ELSE 'receiving' END");
    s.bind(1, r.study_uid).bind(2, r.received_at).bind(3, r.received_at).bind(4, r.size_bytes);
    s.bind(5, r.calling_ae).bind(6, r.received_at);
    // Corrections and derived objects leave an existing study as it is (a new one is stored).
    s.bind(7, static_cast<int>(r.action == SeriesAction::correction ||
                               r.action == SeriesAction::derived));
    s.bind(8, r.accession_number).bind(9, r.study_date).bind(10, r.study_time);
    s.bind(11, r.modality).bind(12, r.study_description);
    s.run();
  }
  // A correction queues its job in the same transaction: never one without the other.
  if (r.action == SeriesAction::correction && !r.corrects_study.empty())
    insert_job(r.corrects_study, "correction", r.sop_instance_uid, r.received_at);
  tx.commit();
  return true;
}

std::vector<StudyRow> SqliteStateStore::query_studies(const std::string& where,
                                                      const std::string& arg, int limit,
                                                      const std::string& order) {
  Statement s(db_,
              "SELECT study_uid, state, first_arrival, last_arrival, instances, bytes, calling_ae, "
              "state_changed_at, "
              "(SELECT COUNT(*) FROM series WHERE series.study_uid=studies.study_uid), "
              "(SELECT COUNT(*) FROM series WHERE series.study_uid=studies.study_uid AND "
              "action='analyse'), "
              "(SELECT COUNT(*) FROM jobs WHERE jobs.study_uid=studies.study_uid), "
              "CASE WHEN visit_uid<>'' THEN visit_uid ELSE study_uid END, "
              "accession_number, study_date, study_time, modality, study_description "
              "FROM studies " +
                  where + (order.empty() ? " ORDER BY first_arrival" : " ORDER BY " + order) +
                  " LIMIT ?");
  int i = 1;
  if (!where.empty()) s.bind(i++, arg);
  s.bind(i, limit);
  std::vector<StudyRow> out;
  while (s.step()) {
    StudyRow r;
    r.study_uid = s.text(0);
    r.state = s.text(1);
    r.first_arrival = s.real(2);
    r.last_arrival = s.real(3);
    r.instances = s.integer(4);
    r.bytes = s.integer(5);
    r.calling_ae = s.text(6);
    r.state_changed_at = s.real(7);
    r.series = s.integer(8);
    r.analysed_series = s.integer(9);
    r.job_versions = s.integer(10);
    r.visit_uid = s.text(11);
    r.accession_number = s.text(12);
    r.study_date = s.text(13);
    r.study_time = s.text(14);
    r.modality = s.text(15);
    r.study_description = s.text(16);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<StudyRow> SqliteStateStore::studies(const std::string& state, int limit) {
  std::lock_guard lock(mutex_);
  // Newest first: with more studies than `limit`, the latest are the ones listed.
  return query_studies(state.empty() ? "" : "WHERE state=?", state, limit,
                       "first_arrival DESC, study_uid");
}

std::optional<StudyRow> SqliteStateStore::study(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  auto rows = query_studies("WHERE study_uid=?", study_uid, 1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

namespace {
constexpr const char* kSeriesColumns =
    "SELECT series_uid, study_uid, modality, body_part, description, action, rule, instances, "
    "first_arrival, last_arrival, complete, frame_of_reference_uid, study_date, acquisition_time "
    "FROM series ";

template <class S>
SeriesRow series_row(const S& s) {
  SeriesRow r;
  r.series_uid = s.text(0);
  r.study_uid = s.text(1);
  r.modality = s.text(2);
  r.body_part = s.text(3);
  r.description = s.text(4);
  r.action = series_action_from_string(s.text(5));
  r.rule = s.text(6);
  r.instances = s.integer(7);
  r.first_arrival = s.real(8);
  r.last_arrival = s.real(9);
  r.complete = s.integer(10) != 0;
  r.frame_of_reference_uid = s.text(11);
  r.study_date = s.text(12);
  r.acquisition_time = s.text(13);
  return r;
}
}  // namespace

std::vector<SeriesRow> SqliteStateStore::series_of(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  Statement s(db_, std::string(kSeriesColumns) + "WHERE study_uid=? ORDER BY first_arrival");
  s.bind(1, study_uid);
  std::vector<SeriesRow> out;
  while (s.step()) out.push_back(series_row(s));
  return out;
}

std::optional<SeriesRow> SqliteStateStore::series_by_uid(const std::string& series_uid) {
  std::lock_guard lock(mutex_);
  Statement s(db_, std::string(kSeriesColumns) + "WHERE series_uid=?");
  s.bind(1, series_uid);
  if (!s.step()) return std::nullopt;
  return series_row(s);
}

std::optional<std::string> SqliteStateStore::series_of_instance(const std::string& sop) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT series_uid FROM instances WHERE sop_instance_uid=?");
  s.bind(1, sop);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::vector<SeriesRow> SqliteStateStore::complete_quiet_series(double before) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  std::vector<SeriesRow> out;
  {
    Statement s(db_, std::string(kSeriesColumns) +
                         "WHERE complete=0 AND last_arrival<=? AND study_uid IN "
                         "(SELECT study_uid FROM studies WHERE state='receiving')");
    s.bind(1, before);
    while (s.step()) out.push_back(series_row(s));
  }
  for (auto& r : out) {
    Statement u(db_, "UPDATE series SET complete=1 WHERE series_uid=?");
    u.bind(1, r.series_uid).run();
    r.complete = true;
  }
  tx.commit();
  return out;
}

void SqliteStateStore::set_study_state(const std::string& study_uid, const std::string& state,
                                       double now) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "UPDATE studies SET state=?, state_changed_at=? WHERE study_uid=?");
  s.bind(1, state).bind(2, now).bind(3, study_uid).run();
}

void SqliteStateStore::purge_study(const std::string& study_uid, double now) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  Statement(db_, "DELETE FROM instances WHERE study_uid=?").bind(1, study_uid).run();
  Statement(db_, "DELETE FROM series WHERE study_uid=?").bind(1, study_uid).run();
  Statement(db_,
            "UPDATE studies SET state='purged', state_changed_at=?, instances=0, bytes=0 WHERE "
            "study_uid=?")
      .bind(1, now)
      .bind(2, study_uid)
      .run();
  tx.commit();
}

// The visit of a study as SQL: its visit_uid, or itself while it has none.
#define LIVERNODE_VISIT_OF(table) "(CASE WHEN " table ".visit_uid<>'' THEN " table ".visit_uid ELSE " table ".study_uid END)"

std::string SqliteStateStore::lead_of(const std::string& study_uid) {
  Statement s(db_, "SELECT " LIVERNODE_VISIT_OF("studies") " FROM studies WHERE study_uid=?");
  s.bind(1, study_uid);
  return s.step() ? s.text(0) : study_uid;
}

std::string SqliteStateStore::visit_of(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  return lead_of(study_uid);
}

std::vector<StudyRow> SqliteStateStore::studies_of_visit(const std::string& visit_uid) {
  std::lock_guard lock(mutex_);
  return query_studies("WHERE " LIVERNODE_VISIT_OF("studies") "=?1 OR study_uid=?1", visit_uid,
                       1000, "study_uid<>?1, first_arrival");
}

std::vector<StudyRow> SqliteStateStore::studies_of_same_patient(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  return query_studies(
      "WHERE study_uid=?1 OR (state NOT IN ('stored','purged') AND study_uid IN (SELECT "
      "p.study_uid FROM study_patients p WHERE p.patient_id<>'' AND p.patient_id=(SELECT "
      "q.patient_id FROM study_patients q WHERE q.study_uid=?1)))",
      study_uid, 1000, "");
}

void SqliteStateStore::set_visit(const std::vector<std::string>& study_uids,
                                 const std::string& visit_uid) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  for (const auto& uid : study_uids)
    Statement(db_, "UPDATE studies SET visit_uid=? WHERE study_uid=?")
        .bind(1, visit_uid)
        .bind(2, uid)
        .run();
  tx.commit();
}

namespace {
constexpr const char* kJobColumns =
    "SELECT id, study_uid, version, state, created_at, started_at, finished_at, error, result_dir, "
    "objects, attempts, kind, correction_sop FROM jobs ";

template <class S>
JobRow job_row(const S& s) {
  JobRow r;
  r.id = s.integer(0);
  r.study_uid = s.text(1);
  r.version = static_cast<int>(s.integer(2));
  r.state = s.text(3);
  r.created_at = s.real(4);
  r.started_at = s.real(5);
  r.finished_at = s.real(6);
  r.error = s.text(7);
  r.result_dir = s.text(8);
  r.objects = s.integer(9);
  r.attempts = static_cast<int>(s.integer(10));
  r.kind = s.text(11);
  r.correction_sop = s.text(12);
  return r;
}
}  // namespace

JobRow SqliteStateStore::create_job(const std::string& study_uid, double now) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  JobRow r = insert_job(study_uid, "analysis", "", now);
  tx.commit();
  return r;
}

// Inside the caller's lock and transaction.
JobRow SqliteStateStore::insert_job(const std::string& any_study_uid, const std::string& kind,
                                    const std::string& correction_sop, double now) {
  // The visit's lead study owns its job versions.
  const std::string study_uid = lead_of(any_study_uid);
  int version = 1;
  {
    Statement s(db_, "SELECT COALESCE(MAX(version),0)+1 FROM jobs WHERE study_uid=?");
    s.bind(1, study_uid);
    if (s.step()) version = static_cast<int>(s.integer(0));
  }
  Statement(db_,
            "INSERT INTO jobs(study_uid, version, state, created_at, kind, correction_sop) "
            "VALUES(?,?,'queued',?,?,?)")
      .bind(1, study_uid)
      .bind(2, version)
      .bind(3, now)
      .bind(4, kind)
      .bind(5, correction_sop)
      .run();
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  // A correction leaves a study that is receiving new images to its completion timer.
  Statement(db_,
            "UPDATE studies SET state='queued', state_changed_at=? WHERE (study_uid=?2 OR "
            LIVERNODE_VISIT_OF("studies") "=?2) AND (?3 = 'analysis' OR state <> 'receiving')")
      .bind(1, now)
      .bind(2, study_uid)
      .bind(3, kind)
      .run();
  JobRow r;
  r.id = id;
  r.study_uid = study_uid;
  r.version = version;
  r.state = "queued";
  r.created_at = now;
  r.kind = kind;
  r.correction_sop = correction_sop;
  return r;
}

std::optional<JobRow> SqliteStateStore::claim_next_job(double now) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  std::optional<JobRow> job;
  {
    // One job of a study at a time: a later version (a correction builds on the earlier ones)
    // waits for the running one.
    Statement s(db_, std::string(kJobColumns) +
                         "WHERE state='queued' AND NOT EXISTS (SELECT 1 FROM jobs r WHERE "
                         "r.study_uid=jobs.study_uid AND r.state='running') ORDER BY id LIMIT 1");
    if (s.step()) job = job_row(s);
  }
  if (!job) return std::nullopt;
  Statement(db_, "UPDATE jobs SET state='running', started_at=?, attempts=attempts+1 WHERE id=?")
      .bind(1, now)
      .bind(2, job->id)
      .run();
  Statement(db_,
            "UPDATE studies SET state='running', state_changed_at=? WHERE (study_uid=?2 OR "
            LIVERNODE_VISIT_OF("studies") "=?2) AND state='queued'")
      .bind(1, now)
      .bind(2, job->study_uid)
      .run();
  tx.commit();
  job->state = "running";
  job->started_at = now;
  job->attempts += 1;
  return job;
}

void SqliteStateStore::finish_job(std::int64_t job_id, const std::string& state,
                                  const std::string& error, const std::string& result_dir,
                                  std::int64_t objects, double now,
                                  const std::vector<OutboxRow>& outbox) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  insert_outbox(outbox);
  Statement(db_,
            "UPDATE jobs SET state=?, error=?, result_dir=?, objects=?, finished_at=? WHERE id=?")
      .bind(1, state)
      .bind(2, error)
      .bind(3, result_dir)
      .bind(4, objects)
      .bind(5, now)
      .bind(6, job_id)
      .run();
  // The study follows its newest job unless new instances reopened it meanwhile.
  Statement(db_,
            "UPDATE studies SET state=?, state_changed_at=? WHERE state='running' AND "
            LIVERNODE_VISIT_OF("studies") "=(SELECT study_uid FROM jobs WHERE id=?) AND NOT "
            "EXISTS (SELECT 1 FROM jobs j WHERE j.study_uid=" LIVERNODE_VISIT_OF("studies") " AND "
            "j.state IN ('queued','running'))")
      .bind(1, state)
      .bind(2, now)
      .bind(3, job_id)
      .run();
  tx.commit();
}

int SqliteStateStore::requeue_unfinished_jobs() {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  Statement(db_, "UPDATE jobs SET state='queued' WHERE state='running'").run();
  const int n = sqlite3_changes(db_);
  Statement(db_, "UPDATE studies SET state='queued' WHERE state='running'").run();
  tx.commit();
  return n;
}

std::vector<JobRow> SqliteStateStore::query_jobs(const std::string& where, const std::string& arg,
                                                 int limit) {
  Statement s(db_, std::string(kJobColumns) + where + " ORDER BY id DESC LIMIT ?");
  int i = 1;
  if (!where.empty()) s.bind(i++, arg);
  s.bind(i, limit);
  std::vector<JobRow> out;
  while (s.step()) out.push_back(job_row(s));
  return out;
}

std::vector<JobRow> SqliteStateStore::jobs(const std::string& study_uid, int limit) {
  std::lock_guard lock(mutex_);
  return query_jobs(study_uid.empty() ? "" : "WHERE study_uid=?", study_uid, limit);
}

std::vector<JobRow> SqliteStateStore::analyses_of_same_patient(const std::string& study_uid,
                                                                int limit) {
  std::lock_guard lock(mutex_);
  return query_jobs(
      "WHERE state='done' AND study_uid != ?1 AND study_uid NOT IN (SELECT v.study_uid FROM "
      "studies v WHERE v.visit_uid=?1) AND study_uid IN (SELECT p.study_uid FROM "
      "study_patients p WHERE p.patient_id = (SELECT q.patient_id FROM study_patients q WHERE "
      "q.study_uid = ?1)) AND version = (SELECT MAX(j.version) FROM jobs j WHERE "
      "j.study_uid = jobs.study_uid AND j.state='done')",
      study_uid, limit);
}

std::optional<JobRow> SqliteStateStore::job(std::int64_t job_id) {
  std::lock_guard lock(mutex_);
  auto rows = query_jobs("WHERE id=?", std::to_string(job_id), 1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<std::int64_t> SqliteStateStore::add_outbox(const std::vector<OutboxRow>& rows) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  auto ids = insert_outbox(rows);
  tx.commit();
  return ids;
}

std::vector<std::int64_t> SqliteStateStore::insert_outbox(const std::vector<OutboxRow>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& r : rows) {
    Statement s(
        db_,
        "INSERT OR IGNORE INTO outbox(job_id, study_uid, destination, kind, path, sop_class_uid, "
        "sop_instance_uid, transfer_syntax_uid, state, attempts, next_attempt_at, created_at) "
        "VALUES(?,?,?,?,?,?,?,?,'pending',0,?,?)");
    s.bind(1, r.job_id).bind(2, r.study_uid).bind(3, r.destination).bind(4, r.kind).bind(5, r.path);
    s.bind(6, r.sop_class_uid).bind(7, r.sop_instance_uid).bind(8, r.transfer_syntax_uid);
    s.bind(9, r.created_at).bind(10, r.created_at);
    s.run();
    if (sqlite3_changes(db_) > 0) ids.push_back(sqlite3_last_insert_rowid(db_));
  }
  return ids;
}

namespace {
constexpr const char* kOutboxColumns =
    "SELECT id, job_id, study_uid, destination, kind, path, sop_class_uid, sop_instance_uid, "
    "transfer_syntax_uid, state, attempts, next_attempt_at, last_error, created_at, delivered_at "
    "FROM outbox ";

template <class S>
OutboxRow outbox_row(const S& s) {
  OutboxRow r;
  r.id = s.integer(0);
  r.job_id = s.integer(1);
  r.study_uid = s.text(2);
  r.destination = s.text(3);
  r.kind = s.text(4);
  r.path = s.text(5);
  r.sop_class_uid = s.text(6);
  r.sop_instance_uid = s.text(7);
  r.transfer_syntax_uid = s.text(8);
  r.state = s.text(9);
  r.attempts = static_cast<int>(s.integer(10));
  r.next_attempt_at = s.real(11);
  r.last_error = s.text(12);
  r.created_at = s.real(13);
  r.delivered_at = s.real(14);
  return r;
}
}  // namespace

std::vector<OutboxRow> SqliteStateStore::query_outbox(const std::string& where,
                                                      const std::string& arg, int limit) {
  Statement s(db_, std::string(kOutboxColumns) + where + " ORDER BY id LIMIT ?");
  int i = 1;
  if (!where.empty()) s.bind(i++, arg);
  s.bind(i, limit);
  std::vector<OutboxRow> out;
  while (s.step()) out.push_back(outbox_row(s));
  return out;
}

std::vector<OutboxRow> SqliteStateStore::due_outbox(double now, int limit) {
  std::lock_guard lock(mutex_);
  Statement s(
      db_, std::string(kOutboxColumns) +
               "WHERE state='pending' AND next_attempt_at<=? ORDER BY next_attempt_at, id LIMIT ?");
  s.bind(1, now).bind(2, limit);
  std::vector<OutboxRow> out;
  while (s.step()) out.push_back(outbox_row(s));
  return out;
}

std::optional<double> SqliteStateStore::next_outbox_due() {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT MIN(next_attempt_at), COUNT(*) FROM outbox WHERE state='pending'");
  if (s.step() && s.integer(1) > 0) return s.real(0);
  return std::nullopt;
}

void SqliteStateStore::mark_delivered(std::int64_t id, double now) {
  std::lock_guard lock(mutex_);
  Statement(db_,
            "UPDATE outbox SET state='delivered', delivered_at=?, attempts=attempts+1, "
            "last_error='' WHERE id=?")
      .bind(1, now)
      .bind(2, id)
      .run();
}

void SqliteStateStore::mark_attempt_failed(std::int64_t id, const std::string& error,
                                           double next_attempt_at, bool dead) {
  std::lock_guard lock(mutex_);
  Statement(
      db_,
      "UPDATE outbox SET state=?, attempts=attempts+1, last_error=?, next_attempt_at=? WHERE id=?")
      .bind(1, dead ? "dead" : "pending")
      .bind(2, error)
      .bind(3, next_attempt_at)
      .bind(4, id)
      .run();
}

bool SqliteStateStore::requeue_outbox(std::int64_t id, double now) {
  std::lock_guard lock(mutex_);
  Statement(db_,
            "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=? WHERE id=? AND "
            "state<>'delivered'")
      .bind(1, now)
      .bind(2, id)
      .run();
  return sqlite3_changes(db_) > 0;
}

std::vector<OutboxRow> SqliteStateStore::outbox(const std::string& state, int limit) {
  std::lock_guard lock(mutex_);
  return query_outbox(state.empty() ? "" : "WHERE state=?", state, limit);
}

bool SqliteStateStore::sent_instance(const std::string& sop_instance_uid) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT 1 FROM outbox WHERE sop_instance_uid=? LIMIT 1");
  s.bind(1, sop_instance_uid);
  return s.step();
}

std::int64_t SqliteStateStore::pending_outbox_of(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "SELECT COUNT(*) FROM outbox WHERE state='pending' AND (study_uid=?1 OR study_uid="
              "(SELECT " LIVERNODE_VISIT_OF("studies") " FROM studies WHERE study_uid=?1))");
  s.bind(1, study_uid);
  return s.step() ? s.integer(0) : 0;
}

StoreCounts SqliteStateStore::counts() {
  std::lock_guard lock(mutex_);
  StoreCounts c;
  for (const auto& [table, target] :
       {std::pair<const char*, std::map<std::string, std::int64_t>*>{"jobs", &c.jobs_by_state},
        {"outbox", &c.outbox_by_state},
        {"studies", &c.studies_by_state}}) {
    Statement s(db_, std::string("SELECT state, COUNT(*) FROM ") + table + " GROUP BY state");
    while (s.step()) (*target)[s.text(0)] = s.integer(1);
  }
  Statement d(db_, "SELECT destination, state, COUNT(*) FROM outbox GROUP BY destination, state");
  while (d.step()) c.outbox_by_destination[d.text(0)][d.text(1)] = d.integer(2);
  Statement s(db_, "SELECT COUNT(*) FROM instances");
  if (s.step()) c.instances = s.integer(0);
  return c;
}

}  // namespace livernode::node
