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
  r.state = JobState::queued;
  r.created_at = now;
  r.kind = kind;
  r.correction_sop = correction_sop;
  return r;
}

std::optional<JobRow> PostgresStateStore::create_job_if_ready(const std::string& study_uid,
                                                              double now, double quiet_before,
                                                              double forced_before) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  const std::string lead = lead_of(study_uid);
  // The same lock as insert_job's: of two nodes deciding at once, the second waits here and
  // then finds the visit queued, not receiving.
  db_->exec("SELECT pg_advisory_xact_lock(hashtext('livernode.jobs'), hashtext($1))",
            pg::params(lead));
  const auto r = db_->exec(
      "SELECT COUNT(*), COALESCE(BOOL_AND(last_arrival<=$2),true), "
      "COALESCE(BOOL_OR(first_arrival<=$3),false) FROM studies WHERE (study_uid=$1 "
      "OR " LIVERNODE_PG_VISIT_OF("studies") "=$1) AND state='receiving'",
      pg::params(lead, quiet_before, forced_before));
  const bool receiving = r.integer(0, 0) > 0;
  const bool quiet = r.text(0, 1) == "t", forced = r.text(0, 2) == "t";
  if (!receiving || (!quiet && !forced)) return std::nullopt;
  JobRow job = insert_job(lead, "analysis", "", now);
  tx.commit();
  return job;
}

std::optional<JobRow> PostgresStateStore::claim_next_job(double now, const Claimant& by) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  // One job of a study at a time: a later version (a correction builds on the earlier ones)
  // waits for the running one. A row another connection holds is skipped, not waited for: no
  // two connections take the same job. A running job whose lease ran out (its node stopped
  // renewing it) is taken over.
  const auto r = db_->exec(
      std::string(kJobColumns) +
          "WHERE (state='queued' OR (state='running' AND lease_expires_at<$1)) AND NOT EXISTS "
          "(SELECT 1 FROM jobs r WHERE r.study_uid=jobs.study_uid AND r.id<>jobs.id AND "
          "r.state='running' AND r.lease_expires_at>=$1) ORDER BY id LIMIT 1 FOR UPDATE SKIP "
          "LOCKED",
      pg::params(now));
  if (r.rows() == 0) return std::nullopt;
  JobRow job = job_row(pg::Row(r, 0));
  db_->exec(
      "UPDATE jobs SET state='running', started_at=$1, attempts=attempts+1, lease_owner=$2, "
      "lease_expires_at=$3 WHERE id=$4",
      pg::params(now, by.node, now + by.lease_s, job.id));
  db_->exec(
      "UPDATE studies SET state='running', state_changed_at=$1 WHERE (study_uid=$2 "
      "OR " LIVERNODE_PG_VISIT_OF("studies") "=$2) AND state='queued'",
      pg::params(now, job.study_uid));
  tx.commit();
  job.previous_node = job.state == JobState::running ? job.node : "";
  job.state = JobState::running;
  job.started_at = now;
  job.attempts += 1;
  job.node = by.node;
  job.lease_expires_at = now + by.lease_s;
  return job;
}

bool PostgresStateStore::finish_job(std::int64_t job_id, JobState state, const std::string& error,
                                    const std::string& result_dir, std::int64_t objects, double now,
                                    const std::vector<OutboxRow>& outbox, const std::string& node) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  // Only while this node holds the job: after a takeover the new holder's results are the only
  // ones.
  const auto changed =
      db_->exec(
             "UPDATE jobs SET state=$1, error=$2, result_dir=$3, objects=$4, finished_at=$5 "
             "WHERE id=$6 AND ($7::text='' OR (state='running' AND lease_owner=$7))",
             pg::params(std::string(to_string(state)), error, result_dir, objects, now, job_id,
                        node))
          .changed();
  if (changed == 0) return false;
  insert_outbox(outbox);
  // The study follows its newest job unless new instances reopened it meanwhile; a correction
  // that failed leaves it done when an earlier version's results stand (decided here, so that
  // nobody sees the study failed in between).
  db_->exec("UPDATE studies SET state=CASE WHEN $1::text<>'done' AND (SELECT kind FROM jobs "
            "WHERE id=$3)='correction' AND EXISTS (SELECT 1 FROM jobs d WHERE d.study_uid=(SELECT "
            "study_uid FROM jobs WHERE id=$3) AND d.state='done') THEN 'done' ELSE $1::text END, "
            "state_changed_at=$2 WHERE state='running' AND "
            LIVERNODE_PG_VISIT_OF("studies") "=(SELECT study_uid FROM jobs WHERE id=$3) AND NOT "
            "EXISTS (SELECT 1 FROM jobs j WHERE j.study_uid=" LIVERNODE_PG_VISIT_OF("studies") " AND "
            "j.state IN ('queued','running'))",
            pg::params(std::string(to_string(state)), now, job_id));
  tx.commit();
  return true;
}

int PostgresStateStore::requeue_unfinished_jobs(const std::string& node) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  // Only this node's own (a previous process of it): other nodes' jobs are theirs while they
  // live, and taken over by lease when they do not.
  const auto requeued = db_->exec(
      "UPDATE jobs SET state='queued', lease_owner='', lease_expires_at=0 WHERE "
      "state='running' AND ($1::text='' OR lease_owner=$1) RETURNING study_uid",
      pg::params(node));
  for (int i = 0; i < requeued.rows(); ++i)
    db_->exec("UPDATE studies SET state='queued' WHERE (study_uid=$1 OR " LIVERNODE_PG_VISIT_OF(
                  "studies") "=$1) AND state='running'",
              pg::params(requeued.text(i, 0)));
  db_->exec(
      "UPDATE outbox SET claimed_by='', claim_expires_at=0 WHERE claimed_by<>'' AND "
      "($1::text='' OR claimed_by=$1)",
      pg::params(node));
  tx.commit();
  return requeued.rows();
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
