#pragma once
// A throwaway PostgreSQL server for tests: a cluster made with initdb in a temporary folder and
// started with pg_ctl on a free loopback port, once per test program (at the first test that
// asks for it), stopped and removed when the program ends. initdb refuses to run as root: as
// root the cluster belongs to the `postgres` user (runuser -u postgres).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace livernode::test {

class PostgresServer {
 public:
  // The program's server, started on first use. Null when the PostgreSQL server programs are
  // not installed (`why` says which were looked for); throws when they are but the server
  // does not start.
  static PostgresServer* instance(std::string* why = nullptr);
  // The folder of initdb and pg_ctl: `pg_config --bindir`, else /usr/lib/postgresql/*/bin.
  static std::optional<std::filesystem::path> bin_dir();

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A new empty database (a new name at each call); returns its libpq connection string.
  std::string create_database();
  // The connection string of database `name` (trusted local connections, no password).
  std::string conninfo(const std::string& name) const;
  int port() const { return port_; }
  // Runs `sql` in database `name` (psql -c), throwing with its output when it fails.
  void run_sql(const std::string& name, const std::string& sql) const;

 private:
  explicit PostgresServer(std::filesystem::path bin);
  // `command` (a shell command line) as the cluster's owner.
  std::string as_owner(const std::string& command) const;

  std::filesystem::path bin_;
  std::filesystem::path dir_;  // holds data/ and server.log
  std::string owner_;          // empty: the current user
  int port_ = 0;
  int databases_ = 0;
};

}  // namespace livernode::test
