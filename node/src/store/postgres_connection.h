#pragma once
// What the PostgresStateStore's files share: one libpq connection with its prepared statements,
// results read as the store's types, and transactions.
#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "livernode/node/store/state_store.h"

namespace livernode::node::pg {

// A statement's parameters, each as the text PostgreSQL reads for the type it infers.
using Params = std::vector<std::string>;

inline std::string param(const std::string& v) { return v; }
inline std::string param(const char* v) { return v; }
inline std::string param(std::int64_t v) { return std::to_string(v); }
inline std::string param(int v) { return std::to_string(v); }
inline std::string param(bool v) { return v ? "true" : "false"; }
// The shortest text that reads back as the same double.
inline std::string param(double v) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  return std::string(buffer, end);
}
template <class... A>
Params params(const A&... values) {
  return Params{param(values)...};
}

// The rows of a statement, freed on destruction.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result) {}
  Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  ~Result() { PQclear(result_); }
  PGresult* get() const { return result_; }
  int rows() const { return PQntuples(result_); }
  bool null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::string text(int row, int column) const { return PQgetvalue(result_, row, column); }
  std::int64_t integer(int row, int column) const;
  double real(int row, int column) const;
  // Rows an INSERT, UPDATE or DELETE changed.
  std::int64_t changed() const;

 private:
  PGresult* result_;
};

// Row `row` of a Result, read as the SQLite store's statements are (column by index).
class Row {
 public:
  Row(const Result& result, int row) : result_(result), row_(row) {}
  std::string text(int c) const { return result_.text(row_, c); }
  std::int64_t integer(int c) const { return result_.integer(row_, c); }
  double real(int c) const { return result_.real(row_, c); }

 private:
  const Result& result_;
  int row_;
};

class Connection {
 public:
  // Connects; throws StateStoreError naming the server (never the password) when it cannot.
  Connection(std::string conninfo, std::string password);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` (with $1, $2, ... for `values`) as a statement prepared on this connection at
  // its first use. Outside a transaction, a connection found lost is opened again first.
  Result exec(const std::string& sql, const Params& values = {});
  // Runs statements without parameters (a schema file) as they are.
  void exec_script(const std::string& sql);
  // The server, as logs and errors name it: host, port, database and user.
  const std::string& description() const { return description_; }

  void begin();
  void commit();
  void rollback() noexcept;  // never throws; the connection may be gone

 private:
  void connect();
  void ensure_connected();
  [[noreturn]] void fail(const std::string& what, const std::string& message);

  std::string conninfo_;
  std::string password_;
  std::string description_;
  PGconn* conn_ = nullptr;
  bool in_transaction_ = false;
  std::map<std::string, std::string> prepared_;  // SQL -> statement name on conn_
};

// BEGIN ... COMMIT, rolled back when an exception leaves the scope.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) { db_.begin(); }
  ~Transaction() {
    if (!done_) db_.rollback();
  }
  void commit() {
    db_.commit();
    done_ = true;
  }

 private:
  Connection& db_;
  bool done_ = false;
};

}  // namespace livernode::node::pg

// The visit of a study as SQL: its visit_uid, or itself while it has none.
#define LIVERNODE_PG_VISIT_OF(table) \
  "(CASE WHEN " table ".visit_uid<>'' THEN " table ".visit_uid ELSE " table ".study_uid END)"
