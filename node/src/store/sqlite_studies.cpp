// The instances, series, studies and visits of the SqliteStateStore.

#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "livernode/node/store/sqlite_state_store.h"
#include "sqlite_statement.h"
#include "store_rows.h"

namespace livernode::node {

std::optional<std::string> SqliteStateStore::instance_path(const std::string& sop) {
  std::lock_guard lock(reader_mutex_);
  Statement s(reader_, &lookup_, "SELECT path FROM instances WHERE sop_instance_uid=?");
  s.bind(1, sop);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

std::set<std::string> SqliteStateStore::instances_of_study(const std::string& study_uid) {
  std::lock_guard lock(reader_mutex_);
  Statement s(reader_, "SELECT sop_instance_uid FROM instances WHERE study_uid=?");
  s.bind(1, study_uid);
  std::set<std::string> out;
  while (s.step()) out.insert(s.text(0));
  return out;
}

// The instance is on stable storage when this runs (in the ingest journal, or its file fsynced),
// and the spool is walked at start-up (recover_spool), so this commit does not wait for the disk:
// the next commit that does (every other write is synchronous=FULL) makes it durable with it. That
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
  Statement s(db_, std::string(rows::kStudyColumns) + where +
                       (order.empty() ? " ORDER BY first_arrival" : " ORDER BY " + order) +
                       " LIMIT ?");
  int i = 1;
  if (!where.empty()) s.bind(i++, arg);
  s.bind(i, limit);
  std::vector<StudyRow> out;
  while (s.step()) out.push_back(rows::study_row(s));
  return out;
}

std::vector<StudyRow> SqliteStateStore::studies(std::optional<StudyState> state, int limit) {
  std::lock_guard lock(mutex_);
  // Newest first: with more studies than `limit`, the latest are the ones listed.
  return query_studies(state ? "WHERE state=?" : "", state ? to_string(*state) : "", limit,
                       "first_arrival DESC, study_uid");
}

std::optional<StudyRow> SqliteStateStore::study(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  auto rows = query_studies("WHERE study_uid=?", study_uid, 1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

using rows::kSeriesColumns;
using rows::series_row;

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

void SqliteStateStore::set_study_state(const std::string& study_uid, StudyState state, double now) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "UPDATE studies SET state=?, state_changed_at=? WHERE study_uid=?");
  s.bind(1, to_string(state)).bind(2, now).bind(3, study_uid).run();
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

}  // namespace livernode::node
