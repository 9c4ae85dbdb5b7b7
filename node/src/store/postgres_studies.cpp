// The instances, series, studies and visits of the PostgresStateStore.

#include <optional>
#include <string>
#include <vector>

#include "livernode/node/store/postgres_state_store.h"
#include "postgres_connection.h"
#include "store_rows.h"

namespace livernode::node {

std::optional<std::string> PostgresStateStore::instance_path(const std::string& sop) {
  std::lock_guard lock(mutex_);
  const auto r = db_->exec("SELECT path FROM instances WHERE sop_instance_uid=$1", pg::params(sop));
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::set<std::string> PostgresStateStore::instances_of_study(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  const auto r =
      db_->exec("SELECT sop_instance_uid FROM instances WHERE study_uid=$1", pg::params(study_uid));
  std::set<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.insert(r.text(i, 0));
  return out;
}

bool PostgresStateStore::record_instance(const InstanceRecord& r) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  const auto inserted = db_->exec(
      "INSERT INTO instances(sop_instance_uid, sop_class_uid, study_uid, series_uid, "
      "transfer_syntax_uid, path, size_bytes, calling_ae, peer_address, patient_id, received_at) "
      "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (sop_instance_uid) DO NOTHING",
      pg::params(r.sop_instance_uid, r.sop_class_uid, r.study_uid, r.series_uid,
                 r.transfer_syntax_uid, r.path, r.size_bytes, r.calling_ae, r.peer_address,
                 r.patient_id, r.received_at));
  if (inserted.changed() == 0) return false;  // already recorded
  if (!r.patient_id.empty())
    db_->exec(
        "INSERT INTO study_patients(study_uid, patient_id) VALUES($1,$2) "
        "ON CONFLICT (study_uid) DO NOTHING",
        pg::params(r.study_uid, r.patient_id));
  db_->exec(
      "INSERT INTO series(series_uid, study_uid, modality, body_part, description, action, "
      "rule, instances, first_arrival, last_arrival, complete, frame_of_reference_uid, "
      "study_date, acquisition_time) VALUES($1,$2,$3,$4,$5,$6,$7,1,$8,$8,0,$9,$10,$11) "
      "ON CONFLICT (series_uid) DO UPDATE SET instances=series.instances+1, "
      "last_arrival=excluded.last_arrival, complete=0",
      pg::params(r.series_uid, r.study_uid, r.modality, r.body_part, r.series_description,
                 to_string(r.action), r.rule, r.received_at, r.frame_of_reference_uid, r.study_date,
                 r.acquisition_time));
  // Corrections and derived objects leave an existing study as it is (a new one is stored).
  const bool keeps_state =
      r.action == SeriesAction::correction || r.action == SeriesAction::derived;
  db_->exec(
      "INSERT INTO studies(study_uid, state, first_arrival, last_arrival, instances, bytes, "
      "calling_ae, state_changed_at, accession_number, study_date, study_time, modality, "
      "study_description) VALUES($1,CASE WHEN $5::boolean THEN 'stored' ELSE 'receiving' END,"
      "$2,$2,1,$3,$4,$2,$6,$7,$8,$9,$10) "
      "ON CONFLICT (study_uid) DO UPDATE SET instances=studies.instances+1, "
      "bytes=studies.bytes+excluded.bytes, "
      // The header of the first instance that has each value.
      "accession_number=CASE WHEN studies.accession_number='' THEN excluded.accession_number "
      "ELSE studies.accession_number END, "
      "study_date=CASE WHEN studies.study_date='' THEN excluded.study_date ELSE "
      "studies.study_date END, "
      "study_time=CASE WHEN studies.study_time='' THEN excluded.study_time ELSE "
      "studies.study_time END, "
      "modality=CASE WHEN studies.modality='' THEN excluded.modality ELSE studies.modality END, "
      "study_description=CASE WHEN studies.study_description='' THEN "
      "excluded.study_description ELSE studies.study_description END, "
      "last_arrival=excluded.last_arrival, "
      "first_arrival=CASE WHEN studies.state='receiving' OR $5::boolean THEN "
      "studies.first_arrival ELSE excluded.first_arrival END, "
      "state_changed_at=CASE WHEN studies.state='receiving' OR $5::boolean THEN "
      "studies.state_changed_at ELSE excluded.state_changed_at END, "
      "state=CASE WHEN $5::boolean THEN studies.state ELSE 'receiving' END",
      pg::params(r.study_uid, r.received_at, r.size_bytes, r.calling_ae, keeps_state,
                 r.accession_number, r.study_date, r.study_time, r.modality, r.study_description));
  // A correction queues its job in the same transaction: never one without the other.
  if (r.action == SeriesAction::correction && !r.corrects_study.empty())
    insert_job(r.corrects_study, "correction", r.sop_instance_uid, r.received_at);
  tx.commit();
  return true;
}

std::vector<StudyRow> PostgresStateStore::query_studies(const std::string& where,
                                                        const std::string& arg, int limit,
                                                        const std::string& order) {
  const auto r = db_->exec(std::string(rows::kStudyColumns) + where +
                               (order.empty() ? " ORDER BY first_arrival" : " ORDER BY " + order) +
                               (where.empty() ? " LIMIT $1" : " LIMIT $2"),
                           where.empty() ? pg::params(limit) : pg::params(arg, limit));
  std::vector<StudyRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(rows::study_row(pg::Row(r, i)));
  return out;
}

std::vector<StudyRow> PostgresStateStore::studies(std::optional<StudyState> state, int limit) {
  std::lock_guard lock(mutex_);
  // Newest first: with more studies than `limit`, the latest are the ones listed.
  return query_studies(state ? "WHERE state=$1" : "", state ? to_string(*state) : "", limit,
                       "first_arrival DESC, study_uid");
}

std::optional<StudyRow> PostgresStateStore::study(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  auto rows = query_studies("WHERE study_uid=$1", study_uid, 1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

namespace {
using rows::kSeriesColumns;
using rows::series_row;

std::vector<SeriesRow> series_rows(const pg::Result& r) {
  std::vector<SeriesRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(series_row(pg::Row(r, i)));
  return out;
}
}  // namespace

std::vector<SeriesRow> PostgresStateStore::series_of(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  return series_rows(db_->exec(
      std::string(kSeriesColumns) + "WHERE study_uid=$1 ORDER BY first_arrival, series_uid",
      pg::params(study_uid)));
}

std::optional<SeriesRow> PostgresStateStore::series_by_uid(const std::string& series_uid) {
  std::lock_guard lock(mutex_);
  auto rows = series_rows(
      db_->exec(std::string(kSeriesColumns) + "WHERE series_uid=$1", pg::params(series_uid)));
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<std::string> PostgresStateStore::series_of_instance(const std::string& sop) {
  std::lock_guard lock(mutex_);
  const auto r =
      db_->exec("SELECT series_uid FROM instances WHERE sop_instance_uid=$1", pg::params(sop));
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::vector<SeriesRow> PostgresStateStore::complete_quiet_series(double before) {
  std::lock_guard lock(mutex_);
  // One statement: the series it marks are the ones it returns.
  auto out = series_rows(db_->exec(
      "UPDATE series SET complete=1 WHERE complete=0 AND last_arrival<=$1 AND study_uid IN "
      "(SELECT study_uid FROM studies WHERE state='receiving') RETURNING series_uid, study_uid, "
      "modality, body_part, description, action, rule, instances, first_arrival, last_arrival, "
      "complete, frame_of_reference_uid, study_date, acquisition_time",
      pg::params(before)));
  return out;
}

void PostgresStateStore::set_study_state(const std::string& study_uid, StudyState state,
                                         double now) {
  std::lock_guard lock(mutex_);
  db_->exec("UPDATE studies SET state=$1, state_changed_at=$2 WHERE study_uid=$3",
            pg::params(to_string(state), now, study_uid));
}

void PostgresStateStore::purge_study(const std::string& study_uid, double now) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  db_->exec("DELETE FROM instances WHERE study_uid=$1", pg::params(study_uid));
  db_->exec("DELETE FROM series WHERE study_uid=$1", pg::params(study_uid));
  db_->exec(
      "UPDATE studies SET state='purged', state_changed_at=$1, instances=0, bytes=0 WHERE "
      "study_uid=$2",
      pg::params(now, study_uid));
  tx.commit();
}

std::string PostgresStateStore::lead_of(const std::string& study_uid) {
  const auto r =
      db_->exec("SELECT " LIVERNODE_PG_VISIT_OF("studies") " FROM studies WHERE study_uid=$1",
                pg::params(study_uid));
  return r.rows() ? r.text(0, 0) : study_uid;
}

std::string PostgresStateStore::visit_of(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  return lead_of(study_uid);
}

std::vector<StudyRow> PostgresStateStore::studies_of_visit(const std::string& visit_uid) {
  std::lock_guard lock(mutex_);
  return query_studies("WHERE " LIVERNODE_PG_VISIT_OF("studies") "=$1 OR study_uid=$1", visit_uid,
                       1000, "study_uid<>$1, first_arrival");
}

std::vector<StudyRow> PostgresStateStore::studies_of_same_patient(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  return query_studies(
      "WHERE study_uid=$1 OR (state NOT IN ('stored','purged') AND study_uid IN (SELECT "
      "p.study_uid FROM study_patients p WHERE p.patient_id<>'' AND p.patient_id=(SELECT "
      "q.patient_id FROM study_patients q WHERE q.study_uid=$1)))",
      study_uid, 1000, "");
}

void PostgresStateStore::set_visit(const std::vector<std::string>& study_uids,
                                   const std::string& visit_uid) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  for (const auto& uid : study_uids)
    db_->exec("UPDATE studies SET visit_uid=$1 WHERE study_uid=$2", pg::params(visit_uid, uid));
  tx.commit();
}

}  // namespace livernode::node
