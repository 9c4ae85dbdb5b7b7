#pragma once
// A real Orthanc (Debian package `orthanc`) started by a test as the PACS that receives our
// results: free loopback ports, a temporary storage folder, no plugins, no authentication.
// Its REST API is read with curl.
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace livernode::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_tcp_port();

// Runs a command line through /bin/sh and returns its exit status and what it printed
// (standard output and standard error together).
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::string& command_line);

// A server a test runs in the background on a free loopback port.
struct BackgroundServer {
  pid_t pid = -1;
  int port = 0;
};
// Runs `command(port)` (a shell command line that serves on `port` in the foreground) in the
// background with its output in `log`, on a free port, and waits up to `seconds` until
// `ready(port)`. When it exits saying that the port is in use (another program took it after it
// was found free), it is started again on a new port, up to five times. Throws with the log
// when it does not become ready.
BackgroundServer start_on_free_port(const std::function<std::string(int)>& command,
                                    const std::filesystem::path& log,
                                    const std::function<bool(int)>& ready, double seconds = 30);

class OrthancPeer {
 public:
  // Starts Orthanc under `workdir` (created if needed) with DICOM AE title `ae_title`, waits
  // until its REST API answers and throws std::runtime_error (with the tail of its log) when it
  // does not start within 60 s. `dicom_port` / `http_port` 0 = a free port (new ones, up to five
  // times, when Orthanc finds one taken at start-up); a test that needs the PACS address before
  // the PACS runs (down, then up) passes ports it reserved.
  static std::unique_ptr<OrthancPeer> start(const std::filesystem::path& workdir,
                                            const std::string& ae_title = "PACS",
                                            int dicom_port = 0, int http_port = 0);
  ~OrthancPeer();  // stops the server (SIGTERM, then SIGKILL after 10 s)
  OrthancPeer(const OrthancPeer&) = delete;
  OrthancPeer& operator=(const OrthancPeer&) = delete;

  const std::string& ae_title() const { return ae_title_; }
  int dicom_port() const { return dicom_port_; }
  int http_port() const { return http_port_; }
  std::string url(const std::string& path) const;  // path starts with '/'

  // GET a REST resource as JSON; throws std::runtime_error on transport or parse failure.
  nlohmann::json get(const std::string& path) const;
  // Orthanc's identifiers of all instances it holds.
  std::vector<std::string> instances() const;
  // The main DICOM tags of one instance, by tag keyword (Orthanc's
  // /instances/{id}/simplified-tags).
  nlohmann::json tags(const std::string& instance_id) const;

 private:
  OrthancPeer() = default;
  // Writes the configuration, starts Orthanc and waits until it answers; throws with the tail
  // of its log (pid_ <= 0 when Orthanc has exited).
  void launch();
  std::filesystem::path workdir_;
  std::string ae_title_;
  int dicom_port_ = 0;
  int http_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace livernode::test
