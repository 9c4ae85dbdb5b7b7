// The analysis jobs of the PostgresStateStore.

#include <optional>
#include <string>
#include <vector>

#include "livernode/node/store/postgres_state_store.h"
#include "postgres_connection.h"
#include "store_rows.h"

namespace livernode::node {

using rows::job_row;
using rows::kJobColumns;

JobRow PostgresStateStore::create_job(const std::string& study_uid, double now) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  JobRow r = insert_job(study_uid, "analysis", "", now);
  tx.commit();
  return r;
}

// Inside the caller's lock and transaction.
JobRow PostgresStateStore::insert_job(const std::string& any_study_uid, const std::string& kind,
                                      const std::string& correction_sop, double now) {
  // The visit's lead study owns its job versions.
  const std::string study_uid = lead_of(any_study_uid);
  // Versions of one study are numbered one at a time, also by connections of other processes.
  db_->exec("SELECT pg_advisory_xact_lock(hashtext('livernode.jobs'), hashtext($1))",
            pg::params(study_uid));
  const int version =
      static_cast<int>(db_->exec("SELECT COALESCE(MAX(version),0)+1 FROM jobs WHERE study_uid=$1",
                                 pg::params(study_uid))
                           .integer(0, 0));
  const std::int64_t id =
      db_->exec(
             "INSERT INTO jobs(study_uid, version, state, created_at, kind, correction_sop) "
             "VALUES($1,$2,'queued',$3,$4,$5) RETURNING id",
             pg::params(study_uid, version, now, kind, correction_sop))
          .integer(0, 0);
  // A correction leaves a study that is receiving new images to its completion timer.
  db_->exec(
      "UPDATE studies SET state='queued', state_changed_at=$1 WHERE (study_uid=$2 "
      "OR " LIVERNODE_PG_VISIT_OF("studies") "=$2) AND ($3::text='analysis' OR state<>'receiving')",
      pg::params(now, study_uid, kind));
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

std::optional<JobRow> PostgresStateStore::claim_next_job(double now) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  // One job of a study at a time: a later version (a correction builds on the earlier ones)
  // waits for the running one. A row another connection holds is skipped, not waited for: no
  // two connections take the same job.
  const auto r = db_->exec(std::string(kJobColumns) +
                           "WHERE state='queued' AND NOT EXISTS (SELECT 1 FROM jobs r WHERE "
                           "r.study_uid=jobs.study_uid AND r.state='running') ORDER BY id LIMIT 1 "
                           "FOR UPDATE SKIP LOCKED");
  if (r.rows() == 0) return std::nullopt;
  JobRow job = job_row(pg::Row(r, 0));
  db_->exec("UPDATE jobs SET state='running', started_at=$1, attempts=attempts+1 WHERE id=$2",
            pg::params(now, job.id));
  db_->exec(
      "UPDATE studies SET state='running', state_changed_at=$1 WHERE (study_uid=$2 "
      "OR " LIVERNODE_PG_VISIT_OF("studies") "=$2) AND state='queued'",
      pg::params(now, job.study_uid));
  tx.commit();
  job.state = "running";
  job.started_at = now;
  job.attempts += 1;
  return job;
}

void PostgresStateStore::finish_job(std::int64_t job_id, const std::string& state,
                                    const std::string& error, const std::string& result_dir,
                                    std::int64_t objects, double now,
                                    const std::vector<OutboxRow>& outbox) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  insert_outbox(outbox);
  db_->exec(
      "UPDATE jobs SET state=$1, error=$2, result_dir=$3, objects=$4, finished_at=$5 WHERE id=$6",
      pg::params(state, error, result_dir, objects, now, job_id));
  // The study follows its newest job unless new instances reopened it meanwhile.
  db_->exec("UPDATE studies SET state=$1, state_changed_at=$2 WHERE state='running' AND "
            LIVERNODE_PG_VISIT_OF("studies") "=(SELECT study_uid FROM jobs WHERE id=$3) AND NOT "
            "EXISTS (SELECT 1 FROM jobs j WHERE j.study_uid=" LIVERNODE_PG_VISIT_OF("studies") " AND "
            "j.state IN ('queued','running'))",
            pg::params(state, now, job_id));
  tx.commit();
}

int PostgresStateStore::requeue_unfinished_jobs() {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  const auto n = db_->exec("UPDATE jobs SET state='queued' WHERE state='running'").changed();
  db_->exec("UPDATE studies SET state='queued' WHERE state='running'");
  tx.commit();
  return static_cast<int>(n);
}

std::vector<JobRow> PostgresStateStore::query_jobs(const std::string& where, const std::string& arg,
                                                   int limit) {
  const auto r = db_->exec(std::string(kJobColumns) + where + " ORDER BY id DESC" +
                               (where.empty() ? " LIMIT $1" : " LIMIT $2"),
                           where.empty() ? pg::params(limit) : pg::params(arg, limit));
  std::vector<JobRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(job_row(pg::Row(r, i)));
  return out;
}

std::vector<JobRow> PostgresStateStore::jobs(const std::string& study_uid, int limit) {
  std::lock_guard lock(mutex_);
  return query_jobs(study_uid.empty() ? "" : "WHERE study_uid=$1", study_uid, limit);
}

std::vector<JobRow> PostgresStateStore::analyses_of_same_patient(const std::string& study_uid,
                                                                 int limit) {
  std::lock_guard lock(mutex_);
  return query_jobs(
      "WHERE state='done' AND study_uid<>$1 AND study_uid NOT IN (SELECT v.study_uid FROM "
      "studies v WHERE v.visit_uid=$1) AND study_uid IN (SELECT p.study_uid FROM "
      "study_patients p WHERE p.patient_id=(SELECT q.patient_id FROM study_patients q WHERE "
      "q.study_uid=$1)) AND version=(SELECT MAX(j.version) FROM jobs j WHERE "
      "j.study_uid=jobs.study_uid AND j.state='done')",
      study_uid, limit);
}

std::optional<JobRow> PostgresStateStore::job(std::int64_t job_id) {
  std::lock_guard lock(mutex_);
  auto rows = query_jobs("WHERE id=$1", std::to_string(job_id), 1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

}  // namespace livernode::node
