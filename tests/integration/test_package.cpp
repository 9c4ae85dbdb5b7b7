// The Debian package as an administrator receives it: scripts/package.sh builds it from this
// test's own build directory, dpkg-deb unpacks it into a temporary root, and the unpacked
// binary runs with the unpacked configuration (paths and ports moved into the temp folder).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "livernode/version.h"
#include "orthanc_peer.h"
#include "test_support.h"

namespace fs = std::filesystem;
using livernode::test::free_tcp_port;
using livernode::test::make_temp_dir;
using livernode::test::run_command;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text))
    if (l == line) return true;
  return false;
}

// The value of a "Field: value" line of a Debian control file.
std::string control_field(const std::string& control, const std::string& field) {
  for (const auto& l : lines_of(control))
    if (l.rfind(field + ": ", 0) == 0) return l.substr(field.size() + 2);
  return "";
}

// Replaces `from` (which must occur) by `to` everywhere in `text`.
void replace_all(std::string& text, const std::string& from, const std::string& to) {
  ASSERT_NE(text.find(from), std::string::npos) << "the packaged configuration lacks: " << from;
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// Whether a Depends field names `package` (alone or as an alternative, any version).
bool depends_on(const std::string& depends, const std::string& package) {
  static const std::regex name_re("([a-z0-9][a-z0-9+.-]*)");
  std::istringstream in(depends);
  for (std::string item; std::getline(in, item, ',');) {
    std::istringstream alternatives(item);
    for (std::string alt; std::getline(alternatives, alt, '|');) {
      std::smatch m;
      if (std::regex_search(alt, m, name_re) && m[1] == package) return true;
    }
  }
  return false;
}

std::string shell_quote(const fs::path& p) { return "'" + p.string() + "'"; }

class DebianPackage : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"cpack", "dpkg-deb", "dpkg-shlibdeps", "echoscu", "curl"}) {
      if (run_command(std::string("command -v ") + tool).status != 0)
        GTEST_SKIP() << tool << " is not installed (Debian packages cmake, dpkg, dpkg-dev, "
                     << "dcmtk, curl); the package cannot be built or checked here";
    }
    dir_ = make_temp_dir("livernode-package");
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  fs::path dir_;
  pid_t pid_ = -1;
};

TEST_F(DebianPackage, InstallsARunnableServiceWithItsConfigurationAndUnit) {
  const auto started = std::chrono::steady_clock::now();
  // LIVERNODE_BINARY is BUILD/node/livernode.
  const fs::path build_dir = fs::path(LIVERNODE_BINARY).parent_path().parent_path();
  ASSERT_TRUE(fs::exists(build_dir / "CPackConfig.cmake")) << build_dir;
  const fs::path out = dir_ / "out";
  const auto packaged = run_command(
      "LIVERNODE_BUILD_DIR=" + shell_quote(build_dir) + " bash " +
      shell_quote(fs::path(LIVERNODE_SOURCE_DIR) / "scripts/package.sh") + " " + shell_quote(out));
  ASSERT_EQ(packaged.status, 0) << packaged.output;

  const std::string version = livernode::kVersion;
  const fs::path deb = out / ("livernode_" + version + "_amd64.deb");
  ASSERT_TRUE(fs::is_regular_file(deb)) << "no " << deb << " after:\n" << packaged.output;
  EXPECT_NE(packaged.output.find(deb.string()), std::string::npos)
      << "package.sh should print the package path last:\n"
      << packaged.output;

  const fs::path root = dir_ / "root";
  const fs::path control_dir = dir_ / "control";
  ASSERT_EQ(run_command("dpkg-deb -x " + shell_quote(deb) + " " + shell_quote(root)).status, 0);
  ASSERT_EQ(run_command("dpkg-deb -e " + shell_quote(deb) + " " + shell_quote(control_dir)).status,
            0);

  // --- control files
  const std::string control = read_text(control_dir / "control");
  EXPECT_EQ(control_field(control, "Package"), "livernode") << control;
  EXPECT_EQ(control_field(control, "Version"), version) << control;
  EXPECT_EQ(control_field(control, "Architecture"), "amd64") << control;
  const std::string depends = control_field(control, "Depends");
  // adduser (for postinst) and what dpkg-shlibdeps found in the binary.
  for (const char* package : {"adduser", "libc6", "libdcmtk17", "libinsighttoolkit5.2",
                              "libsqlite3-0", "libpq5", "libyaml-cpp0.7", "libcairo2"}) {
    EXPECT_TRUE(depends_on(depends, package)) << package << " missing from Depends: " << depends;
  }
  EXPECT_TRUE(has_line(read_text(control_dir / "conffiles"), "/etc/livernode/livernode.yaml"))
      << "the configuration must be a conffile (kept across upgrades)";
  const std::string postinst = read_text(control_dir / "postinst");
  EXPECT_NE(postinst.find("adduser --system --group --home /var/lib/livernode"), std::string::npos)
      << postinst;
  EXPECT_NE(postinst.find("chown livernode:livernode /var/lib/livernode"), std::string::npos)
      << postinst;
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((control_dir / script).c_str(), &st), 0) << script;
    EXPECT_EQ(st.st_mode & 0777, 0755u) << script;
    EXPECT_EQ(run_command("sh -n " + shell_quote(control_dir / script)).status, 0) << script;
  }

  // --- files
  const fs::path binary = root / "usr/bin/livernode";
  ASSERT_TRUE(fs::is_regular_file(binary));
  EXPECT_EQ(::access(binary.c_str(), X_OK), 0);
  const fs::path config = root / "etc/livernode/livernode.yaml";
  ASSERT_TRUE(fs::is_regular_file(config));
  const fs::path unit = root / "lib/systemd/system/livernode.service";
  ASSERT_TRUE(fs::is_regular_file(unit));
  EXPECT_TRUE(fs::is_regular_file(root / "usr/share/doc/livernode/livernode.example.yaml"));

  const auto version_run = run_command(shell_quote(binary) + " version");
  EXPECT_EQ(version_run.status, 0);
  EXPECT_NE(version_run.output.find(version), std::string::npos) << version_run.output;

  const std::string unit_text = read_text(unit);
  for (const char* line :
       {"[Service]", "Type=simple", "User=livernode", "Group=livernode",
        "ExecStart=/usr/bin/livernode serve --config /etc/livernode/livernode.yaml",
        "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "KillSignal=SIGTERM",
        "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/livernode",
        "PrivateTmp=yes", "ProtectHome=yes", "WantedBy=multi-user.target"}) {
    EXPECT_TRUE(has_line(unit_text, line)) << "livernode.service lacks the line " << line;
  }
  std::smatch stop;
  ASSERT_TRUE(std::regex_search(unit_text, stop, std::regex("\nTimeoutStopSec=(\\d+)min\n")))
      << "TimeoutStopSec in minutes expected";
  EXPECT_GE(std::stoi(stop[1]), 5) << "a running analysis needs minutes to finish on SIGTERM";

  // --- the packaged configuration: an installed node's paths, logs to standard error
  std::string yaml = read_text(config);
  for (const char* line :
       {"  spool_dir: /var/lib/livernode/spool", "  state_db: /var/lib/livernode/state.sqlite",
        "  results_dir: /var/lib/livernode/results", "  file: \"\""}) {
    EXPECT_TRUE(has_line(yaml, line)) << "packaged livernode.yaml lacks: " << line;
  }

  // Moved into the temp folder (the unpacked root stands for /), on free ports.
  const fs::path var = dir_ / "var-lib-livernode";
  const int dicom_port = free_tcp_port();
  int http_port = free_tcp_port();
  while (http_port == dicom_port) http_port = free_tcp_port();
  replace_all(yaml, "/var/lib/livernode/", var.string() + "/");
  replace_all(yaml, "\n  port: 11112\n", "\n  port: " + std::to_string(dicom_port) + "\n");
  replace_all(yaml, "\n  port: 8080\n", "\n  port: " + std::to_string(http_port) + "\n");
  replace_all(yaml, "  min_free_disk_mb: 1024\n", "  min_free_disk_mb: 1\n");
  const fs::path test_config = dir_ / "livernode.yaml";
  std::ofstream(test_config) << yaml;

  const auto checked =
      run_command(shell_quote(binary) + " check-config " + shell_quote(test_config));
  ASSERT_EQ(checked.status, 0) << checked.output;

  // --- serve: answers C-ECHO, stops cleanly on SIGTERM
  const fs::path log = dir_ / "serve.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    ::dup2(::fileno(stderr), STDOUT_FILENO);
    ::execl(binary.c_str(), binary.c_str(), "serve", "--config", test_config.c_str(), nullptr);
    ::_exit(127);
  }
  const std::string readyz =
      "curl -sf -o /dev/null http://127.0.0.1:" + std::to_string(http_port) + "/readyz";
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    ready = run_command(readyz).status == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << "the packaged binary did not become ready:\n" << read_text(log);
  const auto echo =
      run_command("echoscu -aet PKGTEST -aec LIVERNODE 127.0.0.1 " + std::to_string(dicom_port));
  EXPECT_EQ(echo.status, 0) << echo.output << read_text(log);
  EXPECT_TRUE(fs::exists(var / "state.sqlite")) << "state store not where the config says";
  EXPECT_TRUE(fs::is_directory(var / "spool"));

  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  int status = -1;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(pid_, -1) << "still running 20 s after SIGTERM:\n" << read_text(log);
  ASSERT_TRUE(WIFEXITED(status)) << read_text(log);
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_text(log);

  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  RecordProperty("seconds", static_cast<int>(seconds));
}

}  // namespace
