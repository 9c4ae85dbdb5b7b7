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
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace livernode::test {

namespace fs = std::filesystem;

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
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

std::string log_tail(const fs::path& log) {
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string all = ss.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace

std::unique_ptr<OrthancPeer> OrthancPeer::start(const fs::path& workdir,
                                                const std::string& ae_title, int dicom_port,
                                                int http_port) {
  std::unique_ptr<OrthancPeer> peer(new OrthancPeer());
  peer->workdir_ = workdir;
  peer->ae_title_ = ae_title;
  peer->dicom_port_ = dicom_port > 0 ? dicom_port : free_tcp_port();
  peer->http_port_ = http_port > 0 ? http_port : free_tcp_port();
  while (peer->http_port_ == peer->dicom_port_) peer->http_port_ = free_tcp_port();
  fs::create_directories(workdir / "storage");

  nlohmann::json config = {
      {"Name", "livernode-test-pacs"},
      {"StorageDirectory", (workdir / "storage").string()},
      {"IndexDirectory", (workdir / "storage").string()},
      {"DicomAet", ae_title},
      {"DicomPort", peer->dicom_port_},
      {"HttpPort", peer->http_port_},
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
  peer->pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      peer->pid_ = -1;
      throw std::runtime_error("Orthanc exited at start-up:\n" + log_tail(log));
    }
    const auto probe = run_command("curl -sf " + peer->url("/system"));
    if (probe.status == 0) return peer;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw std::runtime_error("Orthanc did not answer within 30 s:\n" + log_tail(log));
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
