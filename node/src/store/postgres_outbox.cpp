// The outbox (deliveries) of the PostgresStateStore.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "livernode/node/store/postgres_state_store.h"
#include "postgres_connection.h"
#include "store_rows.h"

namespace livernode::node {

std::vector<std::int64_t> PostgresStateStore::add_outbox(const std::vector<OutboxRow>& rows) {
  std::lock_guard lock(mutex_);
  pg::Transaction tx(*db_);
  auto ids = insert_outbox(rows);
  tx.commit();
  return ids;
}

std::vector<std::int64_t> PostgresStateStore::insert_outbox(const std::vector<OutboxRow>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& r : rows) {
    const auto inserted = db_->exec(
        "INSERT INTO outbox(job_id, study_uid, destination, kind, path, sop_class_uid, "
        "sop_instance_uid, transfer_syntax_uid, state, attempts, next_attempt_at, created_at) "
        "VALUES($1,$2,$3,$4,$5,$6,$7,$8,'pending',0,$9,$9) "
        "ON CONFLICT (job_id, destination, sop_instance_uid) DO NOTHING RETURNING id",
        pg::params(r.job_id, r.study_uid, r.destination, r.kind, r.path, r.sop_class_uid,
                   r.sop_instance_uid, r.transfer_syntax_uid, r.created_at));
    if (inserted.rows() > 0) ids.push_back(inserted.integer(0, 0));
  }
  return ids;
}

namespace {
using rows::kOutboxColumns;
using rows::outbox_row;

std::vector<OutboxRow> outbox_rows(const pg::Result& r) {
  std::vector<OutboxRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(outbox_row(pg::Row(r, i)));
  return out;
}
}  // namespace

std::vector<OutboxRow> PostgresStateStore::query_outbox(const std::string& where,
                                                        const std::string& arg, int limit) {
  return outbox_rows(db_->exec(std::string(kOutboxColumns) + where + " ORDER BY id" +
                                   (where.empty() ? " LIMIT $1" : " LIMIT $2"),
                               where.empty() ? pg::params(limit) : pg::params(arg, limit)));
}

std::vector<OutboxRow> PostgresStateStore::due_outbox(double now, int limit) {
  std::lock_guard lock(mutex_);
  return outbox_rows(db_->exec(
      std::string(kOutboxColumns) +
          "WHERE state='pending' AND next_attempt_at<=$1 ORDER BY next_attempt_at, id LIMIT $2",
      pg::params(now, limit)));
}

std::vector<OutboxRow> PostgresStateStore::claim_outbox(double now, int limit, const Claimant& by) {
  std::lock_guard lock(mutex_);
  // Rows another node is claiming at this moment are skipped, not waited for; a row is held by
  // one node at a time.
  auto rows = outbox_rows(db_->exec(
      "UPDATE outbox SET claimed_by=$2, claim_expires_at=$3 WHERE id IN (SELECT id FROM outbox "
      "WHERE state='pending' AND next_attempt_at<=$1 AND (claimed_by='' OR claimed_by=$2 OR "
      "claim_expires_at<$1) ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) "
      "RETURNING " LIVERNODE_OUTBOX_FIELDS,
      pg::params(now, by.node, now + by.lease_s, limit)));
  std::sort(rows.begin(), rows.end(), [](const OutboxRow& a, const OutboxRow& b) {
    return a.next_attempt_at != b.next_attempt_at ? a.next_attempt_at < b.next_attempt_at
                                                  : a.id < b.id;
  });
  return rows;
}

bool PostgresStateStore::renew_outbox_claim(std::int64_t id, double now, const Claimant& by) {
  std::lock_guard lock(mutex_);
  return db_->exec(
                "UPDATE outbox SET claim_expires_at=$1 WHERE id=$2 AND claimed_by=$3 AND "
                "state='pending'",
                pg::params(now + by.lease_s, id, by.node))
             .changed() > 0;
}

void PostgresStateStore::release_outbox(const std::string& node) {
  std::lock_guard lock(mutex_);
  db_->exec("UPDATE outbox SET claimed_by='', claim_expires_at=0 WHERE claimed_by=$1",
            pg::params(node));
}

std::optional<double> PostgresStateStore::next_outbox_due() {
  std::lock_guard lock(mutex_);
  // A row another node holds is due again, for this node, once that claim runs out.
  const auto r = db_->exec(
      "SELECT MIN(CASE WHEN claimed_by<>'' AND claim_expires_at>next_attempt_at THEN "
      "claim_expires_at ELSE next_attempt_at END), COUNT(*) FROM outbox WHERE state='pending'");
  if (r.rows() > 0 && r.integer(0, 1) > 0) return r.real(0, 0);
  return std::nullopt;
}

void PostgresStateStore::mark_delivered(std::int64_t id, double now) {
  std::lock_guard lock(mutex_);
  db_->exec(
      "UPDATE outbox SET state='delivered', delivered_at=$1, attempts=attempts+1, "
      "last_error='', claimed_by='', claim_expires_at=0 WHERE id=$2",
      pg::params(now, id));
}

void PostgresStateStore::mark_attempt_failed(std::int64_t id, const std::string& error,
                                             double next_attempt_at, bool dead) {
  std::lock_guard lock(mutex_);
  db_->exec(
      "UPDATE outbox SET state=$1, attempts=attempts+1, last_error=$2, next_attempt_at=$3, "
      "claimed_by='', claim_expires_at=0 WHERE id=$4",
      pg::params(std::string(to_string(dead ? DeliveryState::dead : DeliveryState::pending)), error,
                 next_attempt_at, id));
}

bool PostgresStateStore::requeue_outbox(std::int64_t id, double now) {
  std::lock_guard lock(mutex_);
  return db_->exec(
                "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=$1 WHERE id=$2 "
                "AND state<>'delivered'",
                pg::params(now, id))
             .changed() > 0;
}

std::vector<OutboxRow> PostgresStateStore::outbox(std::optional<DeliveryState> state, int limit) {
  std::lock_guard lock(mutex_);
  return query_outbox(state ? "WHERE state=$1" : "", state ? to_string(*state) : "", limit);
}

bool PostgresStateStore::sent_instance(const std::string& sop_instance_uid) {
  std::lock_guard lock(mutex_);
  return db_->exec("SELECT 1 FROM outbox WHERE sop_instance_uid=$1 LIMIT 1",
                   pg::params(sop_instance_uid))
             .rows() > 0;
}

std::int64_t PostgresStateStore::pending_outbox_of(const std::string& study_uid) {
  std::lock_guard lock(mutex_);
  return db_->exec(
                "SELECT COUNT(*) FROM outbox WHERE state='pending' AND (study_uid=$1 OR "
                "study_uid=(SELECT " LIVERNODE_PG_VISIT_OF("studies") " FROM studies WHERE "
                "study_uid=$1))",
                pg::params(study_uid))
      .integer(0, 0);
}

}  // namespace livernode::node
