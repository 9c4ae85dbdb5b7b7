#include "postgres_server.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "orthanc_peer.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;

namespace {

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<fs::path> PostgresServer::bin_dir() {
  const auto has_server = [](const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / "initdb", ec) && fs::exists(dir / "pg_ctl", ec) &&
           fs::exists(dir / "postgres", ec);
  };
  const auto configured = run_command("pg_config --bindir 2>/dev/null");
  if (configured.status == 0) {
    std::string dir = configured.output;
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
    if (!dir.empty() && has_server(dir)) return fs::path(dir);
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (has_server(entry.path() / "bin")) return entry.path() / "bin";
  return std::nullopt;
}

PostgresServer* PostgresServer::instance(std::string* why) {
  static std::once_flag once;
  static std::unique_ptr<PostgresServer> server;
  static std::optional<fs::path> bin;
  std::call_once(once, [] {
    bin = bin_dir();
    if (bin) server.reset(new PostgresServer(*bin));
  });
  if (!server && why)
    *why =
        "the PostgreSQL server programs (initdb, pg_ctl, postgres) are not installed: neither "
        "`pg_config --bindir` nor /usr/lib/postgresql/*/bin has them (Debian: apt-get install "
        "postgresql)";
  return server.get();
}

PostgresServer::PostgresServer(fs::path bin) : bin_(std::move(bin)) {
  dir_ = make_temp_dir("livernode-postgres");
  if (::geteuid() == 0) {
    // initdb refuses root: the cluster belongs to the postgres user.
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("running as root, and there is no postgres user");
    owner_ = "postgres";
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("cannot give " + dir_.string() + " to the postgres user");
  }
  const fs::path data = dir_ / "data";
  const auto init =
      run_command(as_owner((bin_ / "initdb").string() + " -D " + quoted(data.string()) +
                           " -U livernode_test --auth=trust --encoding=UTF8 "
                           "--locale=C --no-sync"));
  if (init.status != 0) throw std::runtime_error("initdb failed:\n" + init.output);
  // A free port; another program could take it before the server does, so try a few.
  std::string log;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_tcp_port();
    const std::string options =
        "-p " + std::to_string(port_) +
        " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + quoted(dir_.string()) +
        " -c fsync=off";
    const auto start = run_command(as_owner(
        (bin_ / "pg_ctl").string() + " -D " + quoted(data.string()) + " -l " +
        quoted((dir_ / "server.log").string()) + " -o " + quoted(options) + " -w -t 30 start"));
    if (start.status == 0) return;
    log = start.output + "\n" + file_text(dir_ / "server.log");
  }
  throw std::runtime_error("pg_ctl start failed:\n" + log);
}

PostgresServer::~PostgresServer() {
  run_command(as_owner((bin_ / "pg_ctl").string() + " -D " + quoted((dir_ / "data").string()) +
                       " -m immediate -w stop >/dev/null 2>&1"));
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PostgresServer::as_owner(const std::string& command) const {
  // From the temporary folder: the owner may not be allowed into the current directory.
  const std::string line = "cd " + quoted(dir_.string()) + " && " + command;
  if (owner_.empty()) return "sh -c " + quoted(line) + " 2>&1";
  return "runuser -u " + owner_ + " -- sh -c " + quoted(line) + " 2>&1";
}

std::string PostgresServer::conninfo(const std::string& name) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + name +
         " user=livernode_test connect_timeout=10";
}

void PostgresServer::run_sql(const std::string& name, const std::string& sql) const {
  const auto r = run_command((bin_ / "psql").string() + " -X -q -v ON_ERROR_STOP=1 " +
                             quoted(conninfo(name)) + " -c " + quoted(sql) + " 2>&1");
  if (r.status != 0) throw std::runtime_error("psql failed: " + sql + "\n" + r.output);
}

std::string PostgresServer::create_database() {
  const std::string name =
      "livernode_test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  run_sql("postgres", "CREATE DATABASE " + name);
  return conninfo(name);
}

}  // namespace livernode::test
