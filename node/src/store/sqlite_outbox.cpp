// The outbox (deliveries) of the SqliteStateStore.

#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "livernode/node/store/sqlite_state_store.h"
#include "sqlite_statement.h"
#include "store_rows.h"

namespace livernode::node {

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

using rows::kOutboxColumns;
using rows::outbox_row;

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

std::vector<OutboxRow> SqliteStateStore::claim_outbox(double now, int limit, const Claimant& by) {
  std::lock_guard lock(mutex_);
  Transaction tx(db_);
  std::vector<OutboxRow> out;
  {
    Statement s(db_, std::string(kOutboxColumns) +
                         "WHERE state='pending' AND next_attempt_at<=?1 AND (claimed_by='' OR "
                         "claimed_by=?2 OR claim_expires_at<?1) ORDER BY next_attempt_at, id "
                         "LIMIT ?3");
    s.bind(1, now).bind(2, by.node).bind(3, limit);
    while (s.step()) out.push_back(outbox_row(s));
  }
  for (auto& r : out) {
    Statement(db_, "UPDATE outbox SET claimed_by=?, claim_expires_at=? WHERE id=?")
        .bind(1, by.node)
        .bind(2, now + by.lease_s)
        .bind(3, r.id)
        .run();
    r.claimed_by = by.node;
    r.claim_expires_at = now + by.lease_s;
  }
  tx.commit();
  return out;
}

bool SqliteStateStore::renew_outbox_claim(std::int64_t id, double now, const Claimant& by) {
  std::lock_guard lock(mutex_);
  Statement(db_,
            "UPDATE outbox SET claim_expires_at=? WHERE id=? AND claimed_by=? AND "
            "state='pending'")
      .bind(1, now + by.lease_s)
      .bind(2, id)
      .bind(3, by.node)
      .run();
  return sqlite3_changes(db_) > 0;
}

void SqliteStateStore::release_outbox(const std::string& node) {
  std::lock_guard lock(mutex_);
  Statement(db_, "UPDATE outbox SET claimed_by='', claim_expires_at=0 WHERE claimed_by=?")
      .bind(1, node)
      .run();
}

std::optional<double> SqliteStateStore::next_outbox_due() {
  std::lock_guard lock(mutex_);
  // A row another node holds is due again, for this node, once that claim runs out.
  Statement s(db_,
              "SELECT MIN(CASE WHEN claimed_by<>'' AND claim_expires_at>next_attempt_at THEN "
              "claim_expires_at ELSE next_attempt_at END), COUNT(*) FROM outbox WHERE "
              "state='pending'");
  if (s.step() && s.integer(1) > 0) return s.real(0);
  return std::nullopt;
}

void SqliteStateStore::mark_delivered(std::int64_t id, double now) {
  std::lock_guard lock(mutex_);
  Statement(db_,
            "UPDATE outbox SET state='delivered', delivered_at=?, attempts=attempts+1, "
            "last_error='', claimed_by='', claim_expires_at=0 WHERE id=?")
      .bind(1, now)
      .bind(2, id)
      .run();
}

void SqliteStateStore::mark_attempt_failed(std::int64_t id, const std::string& error,
                                           double next_attempt_at, bool dead) {
  std::lock_guard lock(mutex_);
  Statement(db_,
            "UPDATE outbox SET state=?, attempts=attempts+1, last_error=?, next_attempt_at=?, "
            "claimed_by='', claim_expires_at=0 WHERE id=?")
      .bind(1, to_string(dead ? DeliveryState::dead : DeliveryState::pending))
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

std::vector<OutboxRow> SqliteStateStore::outbox(std::optional<DeliveryState> state, int limit) {
  std::lock_guard lock(mutex_);
  return query_outbox(state ? "WHERE state=?" : "", state ? to_string(*state) : "", limit);
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

}  // namespace livernode::node
