#include "orthanc_peer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace livernode::test {

namespace fs = std::filesystem;

namespace {

// Binds `port` on 127.0.0.1 (0: any the system picks) and releases it; returns the port bound,
// or 0 when it is in use.
int bind_and_release(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  socklen_t len = sizeof(addr);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  return bound ? ntohs(addr.sin_port) : 0;
}

// The first port of the range the system takes local ports of outgoing connections from
// (net.ipv4.ip_local_port_range; 32768 when it cannot be read).
int first_ephemeral_port() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  if (in >> low >> high && low > 0) return low;
  return 32768;
}

}  // namespace

int free_tcp_port() {
  // Below the ephemeral range where there is room: every curl, storescu or database client of
  // the tests takes its local port from that range, and one of them could take a port chosen
  // there before the server that is to listen on it binds it.
  constexpr int kLowest = 20000;
  static const int ephemeral = first_ephemeral_port();
  if (ephemeral - kLowest >= 1000) {
    static std::mutex mutex;
    static std::mt19937 random(static_cast<std::uint32_t>(std::random_device{}()) ^
                               static_cast<std::uint32_t>(::getpid()));
    std::uniform_int_distribution<int> pick(kLowest, ephemeral - 1);
    std::lock_guard lock(mutex);
    for (int i = 0; i < 100; ++i)
      if (const int port = bind_and_release(pick(random)); port > 0) return port;
  }
  const int port = bind_and_release(0);
  if (port == 0) throw std::runtime_error("cannot bind a loopback port");
  return port;
}

CommandResult run_command(const std::string& command_line) {
  CommandResult r;
  FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

namespace {

// True while process `pid` runs (not a zombie that whoever adopted it has not reaped yet).
bool running(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

std::string log_tail(const fs::path& log) {
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string all = ss.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace

BackgroundServer start_on_free_port(const std::function<std::string(int)>& command,
                                    const fs::path& log, const std::function<bool(int)>& ready,
                                    double seconds) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    BackgroundServer server;
    server.port = free_tcp_port();
    const auto started =
        run_command(command(server.port) + " > '" + log.string() + "' 2>&1 & echo $!");
    server.pid = std::atoi(started.output.c_str());
    if (server.pid <= 0) throw std::runtime_error("cannot start: " + command(server.port));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ready(server.port)) return server;
      if (!running(server.pid)) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!exited) ::kill(server.pid, SIGKILL);
    const std::string output = log_tail(log);
    if (exited && attempt < kAttempts && output.find("already in use") != std::string::npos)
      continue;
    throw std::runtime_error((exited ? "exited at start: " : "not ready in time: ") +
                             command(server.port) + "\n" + output);
  }
}

std::unique_ptr<OrthancPeer> OrthancPeer::start(const fs::path& workdir,
                                                const std::string& ae_title, int dicom_port,
                                                int http_port) {
  // A port chosen here can be taken by another program before Orthanc binds it: Orthanc then
  // stops at once, saying so, and is started again on new ports. Ports the test passed stay.
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<OrthancPeer> peer(new OrthancPeer());
    peer->workdir_ = workdir;
    peer->ae_title_ = ae_title;
    peer->dicom_port_ = dicom_port > 0 ? dicom_port : free_tcp_port();
    peer->http_port_ = http_port > 0 ? http_port : free_tcp_port();
    while (peer->http_port_ == peer->dicom_port_) {
      if (http_port > 0 && dicom_port > 0) throw std::runtime_error("one port given twice");
      if (http_port > 0)
        peer->dicom_port_ = free_tcp_port();
      else
        peer->http_port_ = free_tcp_port();
    }
    const fs::path log = workdir / "orthanc.log";
    try {
      peer->launch();
      return peer;
    } catch (const std::runtime_error&) {
      const bool retry = peer->pid_ <= 0 && attempt < kAttempts &&
                         (dicom_port == 0 || http_port == 0) &&
                         log_tail(log).find("already in use") != std::string::npos;
      if (!retry) throw;
      std::error_code ec;
      fs::rename(log, workdir / ("orthanc-attempt" + std::to_string(attempt) + ".log"), ec);
    }
  }
}

void OrthancPeer::launch() {
  const fs::path& workdir = workdir_;
  fs::create_directories(workdir / "storage");

  nlohmann::json config = {
      {"Name", "livernode-test-pacs"},
      {"StorageDirectory", (workdir / "storage").string()},
      {"IndexDirectory", (workdir / "storage").string()},
      {"DicomAet", ae_title_},
      {"DicomPort", dicom_port_},
      {"HttpPort", http_port_},
      {"RemoteAccessAllowed", false},
      {"AuthenticationEnabled", false},
      {"DicomCheckCalledAet", false},
      {"DicomAlwaysAllowStore", true},
      {"DicomAlwaysAllowEcho", true},
      {"UnknownSopClassAccepted", true},
      {"Plugins", nlohmann::json::array()},
      {"HttpServerEnabled", true},
      {"DicomServerEnabled", true},
      {"StableAge", 1},
  };
  const fs::path config_path = workdir / "orthanc.json";
  std::ofstream(config_path) << config.dump(2);
  const fs::path log = workdir / "orthanc.log";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string program = "Orthanc";
  std::string config_arg = config_path.string();
  std::vector<char*> argv = {program.data(), config_arg.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, "Orthanc", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start Orthanc (is the Debian package `orthanc` installed?)");
  }
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid_ = -1;
      throw std::runtime_error("Orthanc exited at start-up:\n" + log_tail(log));
    }
    // Ours, not another server that holds the HTTP port: it reports our DICOM port.
    const auto probe = run_command("curl -sf " + url("/system"));
    if (probe.status == 0) {
      const auto system = nlohmann::json::parse(probe.output, nullptr, false);
      if (!system.is_discarded() && system.value("DicomPort", 0) == dicom_port_) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw std::runtime_error("Orthanc did not answer within 60 s:\n" + log_tail(log));
}

OrthancPeer::~OrthancPeer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
}

std::string OrthancPeer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + path;
}

nlohmann::json OrthancPeer::get(const std::string& path) const {
  const auto r = run_command("curl -sf " + url(path));
  if (r.status != 0) throw std::runtime_error("GET " + path + " failed: " + r.output);
  return nlohmann::json::parse(r.output);
}

std::vector<std::string> OrthancPeer::instances() const {
  return get("/instances").get<std::vector<std::string>>();
}

nlohmann::json OrthancPeer::tags(const std::string& instance_id) const {
  return get("/instances/" + instance_id + "/simplified-tags");
}

}  // namespace livernode::test
