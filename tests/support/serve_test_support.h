#pragma once
// Helpers shared by the tests that drive a running `livernode serve`.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>

#include "livernode/node/store/state_store.h"
#include "livernode/phantom/phantom.h"
#include "node_process.h"
#include "orthanc_peer.h"

namespace livernode::test {

// A tiny two-phase study (96 x 96, 4 mm pixels, 24 slices of 8 mm, 48 instances) for tests
// about the node rather than about accuracy.
inline phantom::PhantomOptions tiny_two_phase_study(std::uint32_t seed) {
  phantom::PhantomOptions o;
  o.seed = seed;
  o.matrix = 96;
  o.slices = 24;
  o.pixel_spacing_mm = 4.0;
  o.slice_thickness_mm = 8.0;
  o.phases = {phantom::Phase::kArterial, phantom::Phase::kPortalVenous};
  return o;
}

// The `destinations` section of a node's config: one PACS on loopback, accepting `accepts`.
inline std::string loopback_destination(const std::string& name, const std::string& ae_title,
                                        int port,
                                        const std::string& accepts = "seg, sr, summary, pdf") {
  return "destinations:\n  - name: " + name + "\n    ae_title: " + ae_title +
         "\n    host: 127.0.0.1\n    port: " + std::to_string(port) + "\n    accepts: [" + accepts +
         "]\n";
}

// Regular files under `dir` whose name contains `needle`.
inline std::size_t count_files(const std::filesystem::path& dir, const std::string& needle) {
  std::size_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().find(needle) != std::string::npos) ++n;
  return n;
}

// Polls `done` every `poll_ms` for up to `seconds`; true as soon as it holds.
template <class F>
bool eventually(F done, double seconds, int poll_ms = 100) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  return done();
}

// True once the node holds exactly `count` jobs (of `study_uid`, or of any study when empty)
// and the newest is in one of `states`; polls every `poll_ms` for up to `seconds`.
inline bool jobs_reach(node::StateStore& store, std::size_t count,
                       std::initializer_list<node::JobState> states, double seconds,
                       const std::string& study_uid = "", int poll_ms = 100) {
  return eventually(
      [&] {
        const auto jobs = store.jobs(study_uid, 10);
        return jobs.size() == count &&
               std::find(states.begin(), states.end(), jobs[0].state) != states.end();
      },
      seconds, poll_ms);
}

// True once the node has exactly one job (for `study_uid`, or for any study when empty) and
// it is done; waits up to `seconds`.
inline bool single_job_done(node::StateStore& store, double seconds,
                            const std::string& study_uid = "") {
  return jobs_reach(store, 1, {node::JobState::done}, seconds, study_uid);
}

// Writes `script` to `dir`/`name` and runs it with the system's python3 (pydicom), passing
// `arguments` (already quoted as needed).
inline CommandResult run_python_script(const std::filesystem::path& dir, const std::string& name,
                                       const std::string& script, const std::string& arguments) {
  std::ofstream(dir / name) << script;
  return run_command("/usr/bin/python3 " + (dir / name).string() + " " + arguments);
}

// Sends every file under `what` to the node with DCMTK's storescu (Nagle off on the sender).
inline CommandResult send_with_storescu(const NodeProcess& node, const std::filesystem::path& what,
                                        const std::string& aet = "STORESCU") {
  return run_command("TCP_NODELAY=1 storescu -aet " + aet + " " + node.peer() + " +sd +r " +
                     what.string());
}

// A test CA, a node certificate and a client certificate signed by it, in `dir`.
inline void make_test_certificates(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::string t = dir.string();
  const auto made = run_command(
      "cd " + t +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "
      "/CN=test-ca"
      " && openssl req -newkey rsa:2048 -nodes -keyout node.key -out node.csr -subj /CN=localhost"
      " && openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem "
      "-days 2"
      " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client"
      " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
      "client.pem -days 2");
  ASSERT_EQ(made.status, 0) << made.output;
}

// The node's tls section for the certificates of make_test_certificates.
inline std::string tls_section(const std::string& t, int tls_port, const std::string& extra = "") {
  return "  tls:\n    enabled: true\n    port: " + std::to_string(tls_port) +
         "\n    certificate: " + t + "/node.pem\n    private_key: " + t +
         "/node.key\n    trusted_cas: [" + t + "/ca.pem]\n" + extra;
}

}  // namespace livernode::test
