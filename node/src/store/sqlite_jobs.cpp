// The analysis jobs of the SqliteStateStore.

#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "livernode/node/store/sqlite_state_store.h"
#include "sqlite_statement.h"
#include "store_rows.h"

namespace livernode::node {

using rows::job_row;
using rows::kJobColumns;

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
  Statement(
      db_,
      "UPDATE studies SET state='queued', state_changed_at=? WHERE (study_uid=?2 "
      "OR " LIVERNODE_VISIT_OF("studies") "=?2) AND (?3 = 'analysis' OR state <> 'receiving')")
      .bind(1, now)
      .bind(2, study_uid)
      .bind(3, kind)
      .run();
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

std::optional<JobRow> SqliteStateStore::create_job_if_ready(const std::string& study_uid,
                                                            double now, double quiet_before,
                                                            double forced_before) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  const std::string lead = lead_of(study_uid);
  bool receiving = false, quiet = true, forced = false;
  {
    Statement s(db_,
                "SELECT last_arrival, first_arrival FROM studies WHERE (study_uid=?1 "
                "OR " LIVERNODE_VISIT_OF("studies") "=?1) AND state='receiving'");
    s.bind(1, lead);
    while (s.step()) {
      receiving = true;
      quiet = quiet && s.real(0) <= quiet_before;
      forced = forced || s.real(1) <= forced_before;
    }
  }
  if (!receiving || (!quiet && !forced)) return std::nullopt;
  JobRow r = insert_job(lead, "analysis", "", now);
  tx.commit();
  return r;
}

std::optional<JobRow> SqliteStateStore::claim_next_job(double now, const Claimant& by) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  std::optional<JobRow> job;
  {
    // One job of a study at a time: a later version (a correction builds on the earlier ones)
    // waits for the running one. One node uses an SQLite state: a running job is its own.
    Statement s(db_, std::string(kJobColumns) +
                         "WHERE state='queued' AND NOT EXISTS (SELECT 1 FROM jobs r WHERE "
                         "r.study_uid=jobs.study_uid AND r.state='running') ORDER BY id LIMIT 1");
    if (s.step()) job = job_row(s);
  }
  if (!job) return std::nullopt;
  Statement(db_,
            "UPDATE jobs SET state='running', started_at=?, attempts=attempts+1, lease_owner=?, "
            "lease_expires_at=? WHERE id=?")
      .bind(1, now)
      .bind(2, by.node)
      .bind(3, now + by.lease_s)
      .bind(4, job->id)
      .run();
  Statement(db_,
            "UPDATE studies SET state='running', state_changed_at=? WHERE (study_uid=?2 "
            "OR " LIVERNODE_VISIT_OF("studies") "=?2) AND state='queued'")
      .bind(1, now)
      .bind(2, job->study_uid)
      .run();
  tx.commit();
  job->state = JobState::running;
  job->started_at = now;
  job->attempts += 1;
  job->node = by.node;
  job->lease_expires_at = now + by.lease_s;
  return job;
}

bool SqliteStateStore::finish_job(std::int64_t job_id, JobState state, const std::string& error,
                                  const std::string& result_dir, std::int64_t objects, double now,
                                  const std::vector<OutboxRow>& outbox, const std::string& node) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  Statement(db_,
            "UPDATE jobs SET state=?, error=?, result_dir=?, objects=?, finished_at=? WHERE id=? "
            "AND (?7='' OR (state='running' AND lease_owner=?7))")
      .bind(1, to_string(state))
      .bind(2, error)
      .bind(3, result_dir)
      .bind(4, objects)
      .bind(5, now)
      .bind(6, job_id)
      .bind(7, node)
      .run();
  if (sqlite3_changes(db_) == 0) return false;  // another node holds it now
  insert_outbox(outbox);
  // The study follows its newest job unless new instances reopened it meanwhile; a correction
  // that failed leaves it done when an earlier version's results stand (decided here, so that
  // nobody sees the study failed in between).
  Statement(db_,
            "UPDATE studies SET state=CASE WHEN ?1<>'done' AND (SELECT kind FROM jobs WHERE "
            "id=?3)='correction' AND EXISTS (SELECT 1 FROM jobs d WHERE d.study_uid=(SELECT "
            "study_uid FROM jobs WHERE id=?3) AND d.state='done') THEN 'done' ELSE ?1 END, "
            "state_changed_at=?2 WHERE state='running' AND "
            LIVERNODE_VISIT_OF("studies") "=(SELECT study_uid FROM jobs WHERE id=?3) AND NOT "
            "EXISTS (SELECT 1 FROM jobs j WHERE j.study_uid=" LIVERNODE_VISIT_OF("studies") " AND "
            "j.state IN ('queued','running'))")
      .bind(1, to_string(state))
      .bind(2, now)
      .bind(3, job_id)
      .run();
  tx.commit();
  return true;
}

int SqliteStateStore::requeue_unfinished_jobs(const std::string& /*node*/) {
  // One node uses an SQLite state: every running job was this node's.
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  Statement(
      db_,
      "UPDATE jobs SET state='queued', lease_owner='', lease_expires_at=0 WHERE state='running'")
      .run();
  const int n = sqlite3_changes(db_);
  Statement(db_, "UPDATE studies SET state='queued' WHERE state='running'").run();
  Statement(db_, "UPDATE outbox SET claimed_by='', claim_expires_at=0 WHERE claimed_by<>''").run();
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

}  // namespace livernode::node
