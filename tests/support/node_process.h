#pragma once
// `livernode serve` started by a test as a child process on free loopback ports, with its own
// temporary folders and a configuration the test can extend.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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
  pid_t pid() const { return pid_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_port_) + path;
  }
  // "-aec LIVERNODE 127.0.0.1 PORT" for echoscu / storescu.
  std::string peer() const { return "-aec LIVERNODE 127.0.0.1 " + std::to_string(dicom_port_); }

  // Starts the node and waits (up to 20 s) for `ready_path` (/readyz) to answer 200; throws with
  // the log on failure.
  void start(const std::string& ready_path = "/readyz") {
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
    for (int i = 0; i < 200; ++i) {
      if (run_command("curl -sf -o /dev/null " + url(ready_path)).status == 0) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("livernode serve exited at start:\n" + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("livernode serve not ready after 20 s:\n" + log());
  }

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
  std::filesystem::path dir_;
  int dicom_port_ = 0;
  int http_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace livernode::test
