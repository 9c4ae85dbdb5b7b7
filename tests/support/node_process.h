#pragma once
// `livernode serve` started by a test as a child process on free loopback ports, with its own
// temporary folders and a configuration the test can extend. A port found free can be taken by
// another program before the node binds it: the first start then picks new ports and tries
// again; a later start (a restart in the test) keeps the ports the node has.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "orthanc_peer.h"

namespace livernode::test {

class NodeProcess {
 public:
  // `extra_yaml` is appended to the generated configuration (top-level sections the base
  // does not write: destinations, delivery, routing, processing); `storage_extra` to its
  // storage section (state_backend, postgresql).
  NodeProcess(const std::filesystem::path& dir, const std::string& node_extra = "",
              const std::string& extra_yaml = "", const std::string& http_extra = "",
              const std::string& storage_extra = "")
      : dir_(dir) {
    std::filesystem::create_directories(dir);
    dicom_port_ = free_tcp_port();
    http_port_ = free_tcp_port();
    while (http_port_ == dicom_port_) http_port_ = free_tcp_port();
    std::ofstream(config_path())
        << "node:\n  ae_title: LIVERNODE\n  port: " << dicom_port_ << "\n  max_associations: 4\n"
        << node_extra << "storage:\n  spool_dir: " << (dir / "spool").string()
        << "\n  state_db: " << (dir / "state.sqlite").string()
        << "\n  results_dir: " << (dir / "results").string() << "\n  min_free_disk_mb: 1\n"
        << storage_extra
        << "study_completion:\n  series_quiet_s: 1\n  study_quiet_s: 1\n  max_wait_s: 60\n"
        << "http:\n  bind_address: 127.0.0.1\n  port: " << http_port_ << "\n"
        << http_extra << extra_yaml;
  }
  ~NodeProcess() {
    if (pid_ > 0) kill_hard();
  }

  std::filesystem::path config_path() const { return dir_ / "node.yaml"; }
  std::filesystem::path log_path() const { return dir_ / "serve.log"; }
  std::filesystem::path spool() const { return dir_ / "spool"; }
  std::filesystem::path state_db() const { return dir_ / "state.sqlite"; }
  int dicom_port() const { return dicom_port_; }
  int http_port() const { return http_port_; }
  // The DICOM TLS port of a configuration with node.tls (0 without); read at the first start,
  // so that it follows a change of ports there.
  int tls_port() const { return tls_port_ >= 0 ? tls_port_ : find_tls_port(config_text()); }
  pid_t pid() const { return pid_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_port_) + path;
  }
  // "-aec LIVERNODE 127.0.0.1 PORT" for echoscu / storescu.
  std::string peer() const { return "-aec LIVERNODE 127.0.0.1 " + std::to_string(dicom_port_); }

  // Starts the node and waits (up to 60 s) for `ready_path` (/readyz) to answer 200; throws with
  // the log on failure. On the first start, a node that exits because one of its ports (DICOM,
  // HTTP, DICOM TLS) was taken meanwhile is started again on new free ports (up to
  // kPortAttempts times); the configuration file is rewritten with them.
  void start(const std::string& ready_path = "/readyz") {
    for (int attempt = 1;; ++attempt) {
      const std::uintmax_t log_start = log_size();
      try {
        start_once(ready_path);
        started_before_ = true;
        return;
      } catch (const std::runtime_error&) {
        if (started_before_ || attempt >= kPortAttempts || !port_taken_since(log_start)) throw;
      }
      std::cerr << "livernode serve (" << dir_.string() << "): a port was taken before it bound "
                << "it; starting again on new ports (attempt " << attempt + 1 << ")\n";
      choose_new_ports();
    }
  }

  // Series and study quiet periods (study_completion) of `seconds` instead of 1 s, for a test
  // whose checks need all it sends in one go to become one job even when the loaded machine
  // pauses the transfer for a moment. Before start().
  void set_quiet_seconds(int seconds) {
    std::string text = config_text();
    const std::string from = "  series_quiet_s: 1\n  study_quiet_s: 1\n";
    const auto at = text.find(from);
    if (at == std::string::npos)
      throw std::runtime_error("no quiet periods to change in " + config_path().string());
    text.replace(at, from.size(),
                 "  series_quiet_s: " + std::to_string(seconds) +
                     "\n  study_quiet_s: " + std::to_string(seconds) + "\n");
    std::ofstream(config_path()) << text;
  }

  // The exit status of the last start that ended before the node was ready (0: none did).
  int last_start_exit() const { return last_start_exit_; }

  // SIGTERM and wait; returns the exit status (or -1 when it had to be killed after 20 s).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill_hard();
    return -1;
  }

  // kill -9: no chance to clean up.
  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string log() const {
    std::ifstream in(log_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // The body of a GET (empty when curl fails); `headers` are extra curl arguments.
  std::string get(const std::string& path, const std::string& headers = "") const {
    return run_command("curl -sf " + headers + " " + url(path)).output;
  }
  // The HTTP status code of a GET.
  int status_of(const std::string& path, const std::string& headers = "") const {
    const auto r =
        run_command("curl -s -o /dev/null -w '%{http_code}' " + headers + " " + url(path));
    return std::atoi(r.output.c_str());
  }

 private:
  static constexpr int kPortAttempts = 5;
  int last_start_exit_ = 0;

  void start_once(const std::string& ready_path) {
    if (tls_port_ < 0) tls_port_ = find_tls_port(config_text());
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = log_path().string();
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      ::dup2(::fileno(stderr), STDOUT_FILENO);
      ::execl(LIVERNODE_BINARY, LIVERNODE_BINARY, "serve", "--config", config_path().c_str(),
              nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 600; ++i) {
      if (run_command("curl -sf -o /dev/null " + url(ready_path)).status == 0) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        last_start_exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        throw std::runtime_error("livernode serve exited at start:\n" + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("livernode serve not ready after 60 s:\n" + log());
  }

  std::uintmax_t log_size() const {
    std::error_code ec;
    const auto size = std::filesystem::file_size(log_path(), ec);
    return ec ? 0 : size;
  }

  // True when the node has exited and what it logged since `from` says that a port it was to
  // listen on is in use ("cannot listen on DICOM port N: Address already in use", "cannot
  // listen for HTTP on ADDRESS:N: Address already in use").
  bool port_taken_since(std::uintmax_t from) const {
    if (pid_ > 0) return false;
    const std::string text = log();
    if (from > text.size()) from = 0;
    return text.find("Address already in use", static_cast<std::size_t>(from)) != std::string::npos;
  }

  std::string config_text() const {
    std::ifstream in(config_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // The line "  port: N" of a top-level section ("node:", "http:"), or "    port: N" of the
  // node's "  tls:" section: the position of N in `text` (npos when absent).
  static std::size_t port_value_at(const std::string& text, const std::string& section,
                                   const std::string& indent) {
    std::size_t at = text.rfind(section, 0) == 0 ? 0 : text.find("\n" + section);
    if (at == std::string::npos) return at;
    const std::string key = "\n" + indent + "port: ";
    // Only within the section: up to the next line as indented as its header, or less.
    const std::size_t header_indent = section.find_first_not_of(' ');
    for (std::size_t line = text.find('\n', at + 1); line != std::string::npos;
         line = text.find('\n', line + 1)) {
      const std::size_t first = text.find_first_not_of(' ', line + 1);
      if (first == std::string::npos) break;
      if (text[first] != '\n' && first - (line + 1) <= header_indent) break;
      if (text.compare(line, key.size(), key) == 0) return line + key.size();
    }
    return std::string::npos;
  }

  static int find_tls_port(const std::string& text) {
    const std::size_t at = port_value_at(text, "  tls:\n", "    ");
    return at == std::string::npos ? 0 : std::atoi(text.c_str() + at);
  }

  // New free ports for the DICOM, HTTP and DICOM TLS listeners, written into the configuration
  // file in place (whatever else the test changed there stays).
  void choose_new_ports() {
    std::string text = config_text();
    const auto fresh = [&](std::initializer_list<int> avoid) {
      for (;;) {
        const int port = free_tcp_port();
        if (std::find(avoid.begin(), avoid.end(), port) == avoid.end()) return port;
      }
    };
    const int dicom = fresh({dicom_port_, http_port_, tls_port_});
    const int http = fresh({dicom_port_, http_port_, tls_port_, dicom});
    const int tls = tls_port_ > 0 ? fresh({dicom_port_, http_port_, tls_port_, dicom, http}) : 0;
    const auto replace = [&](const std::string& section, const std::string& indent, int old_port,
                             int new_port) {
      const std::size_t at = port_value_at(text, section, indent);
      const std::string old_text = std::to_string(old_port);
      if (at == std::string::npos || text.compare(at, old_text.size(), old_text) != 0)
        throw std::runtime_error("cannot find port " + old_text + " under " + section + " in " +
                                 config_path().string());
      text.replace(at, old_text.size(), std::to_string(new_port));
    };
    replace("node:\n", "  ", dicom_port_, dicom);
    replace("http:\n", "  ", http_port_, http);
    if (tls_port_ > 0) replace("  tls:\n", "    ", tls_port_, tls);
    std::ofstream(config_path()) << text;
    dicom_port_ = dicom;
    http_port_ = http;
    if (tls_port_ > 0) tls_port_ = tls;
  }

  std::filesystem::path dir_;
  int dicom_port_ = 0;
  int http_port_ = 0;
  int tls_port_ = -1;  // -1: not read from the configuration yet
  bool started_before_ = false;
  pid_t pid_ = -1;
};

}  // namespace livernode::test
