#pragma once
// What the SqliteStateStore's files share: prepared statements, transactions, and the visit of
// a study as SQL.
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "livernode/node/store/sqlite_state_store.h"

namespace livernode::node {

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
    if (!*slot &&
        sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, nullptr) != SQLITE_OK)
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

// The visit of a study as SQL: its visit_uid, or itself while it has none.
#define LIVERNODE_VISIT_OF(table) \
  "(CASE WHEN " table ".visit_uid<>'' THEN " table ".visit_uid ELSE " table ".study_uid END)"

}  // namespace livernode::node
