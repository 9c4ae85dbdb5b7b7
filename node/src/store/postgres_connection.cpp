#include "postgres_connection.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>

namespace livernode::node::pg {

std::int64_t Result::integer(int row, int column) const {
  const char* text = PQgetvalue(result_, row, column);
  std::int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

double Result::real(int row, int column) const {
  const char* text = PQgetvalue(result_, row, column);
  double value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

std::int64_t Result::changed() const {
  const char* text = PQcmdTuples(result_);
  std::int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

namespace {

// host, port, database and user of a connection string, as libpq reads it (with its defaults
// for what the string leaves out); never the password.
std::string describe(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    std::string message = error ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    throw StateStoreError("storage.postgresql.conninfo cannot be read: " + message);
  }
  std::map<std::string, std::string> values;
  for (auto* o = options; o->keyword; ++o)
    if (o->val) values[o->keyword] = o->val;
  PQconninfoFree(options);
  std::string text;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user"}) {
    const auto it = values.find(key);
    if (it == values.end() || it->second.empty()) continue;
    if (!text.empty()) text += ' ';
    text += std::string(key) + "=" + it->second;
  }
  return text.empty() ? std::string("the default server") : text;
}

std::string trimmed_error(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text)
    if (c == '\n') c = ' ';
  return text.empty() ? std::string("unknown error") : text;
}

}  // namespace

Connection::Connection(std::string conninfo, std::string password)
    : conninfo_(std::move(conninfo)), password_(std::move(password)) {
  description_ = describe(conninfo_);
  connect();
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

void Connection::connect() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
  // The string is expanded as the dbname parameter; the password file's content, given apart,
  // takes precedence over any password in it and is never part of a string that is logged.
  std::vector<const char*> keys = {"dbname", "fallback_application_name"};
  std::vector<const char*> values = {conninfo_.c_str(), "livernode"};
  if (!password_.empty()) {
    keys.push_back("password");
    values.push_back(password_.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    const std::string message = trimmed_error(conn_ ? PQerrorMessage(conn_) : "out of memory");
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw StateStoreError("cannot connect to the state database (PostgreSQL " + description_ +
                          "): " + message);
  }
  // No notices ("relation already exists, skipping") from the schema steps of every start.
  PQclear(PQexec(conn_, "SET client_min_messages TO warning"));
}

void Connection::ensure_connected() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return;
  if (in_transaction_)
    throw StateStoreError("lost the connection to the state database (PostgreSQL " + description_ +
                          ") inside a transaction");
  spdlog::warn("event=state_store_reconnecting backend=postgresql server=\"{}\"", description_);
  connect();
  spdlog::info("event=state_store_reconnected backend=postgresql server=\"{}\"", description_);
}

void Connection::fail(const std::string& what, const std::string& message) {
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK)
    throw StateStoreError("lost the connection to the state database (PostgreSQL " + description_ +
                          "): " + message + " (the next call connects again)");
  throw StateStoreError("state store (PostgreSQL): " + what + ": " + message);
}

Result Connection::exec(const std::string& sql, const Params& values) {
  ensure_connected();
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = "livernode_" + std::to_string(prepared_.size() + 1);
    Result prepared(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK)
      fail("cannot prepare a statement", trimmed_error(PQerrorMessage(conn_)));
    it = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  Result result(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                               pointers.data(), nullptr, nullptr, 0));
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    fail("statement failed", trimmed_error(PQerrorMessage(conn_)));
  return result;
}

void Connection::exec_script(const std::string& sql) {
  ensure_connected();
  Result result(PQexec(conn_, sql.c_str()));
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    fail("schema statement failed", trimmed_error(PQerrorMessage(conn_)));
}

void Connection::begin() {
  exec_script("BEGIN");
  in_transaction_ = true;
}

void Connection::commit() {
  in_transaction_ = false;
  Result result(PQexec(conn_, "COMMIT"));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK)
    fail("COMMIT failed", trimmed_error(PQerrorMessage(conn_)));
}

void Connection::rollback() noexcept {
  in_transaction_ = false;
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
}

}  // namespace livernode::node::pg
