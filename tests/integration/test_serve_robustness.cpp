// `livernode serve` under hostile input and failures: garbage on the DICOM port, silent,
// half-open and stalled connections on the DICOM, TLS and HTTP ports, broken files, a PACS that
// is down, kill -9 in the middle of an analysis and of a delivery, and one real
// HCC case end to end. Each test starts its own node (and Orthanc when it needs one).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/phantom/phantom.h"
#include "node_process.h"
#include "orthanc_peer.h"
#include "serve_test_support.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;

namespace {

std::string destination_yaml(const std::string& ae_title, int port) {
  return loopback_destination("pacs", ae_title, port) +
         "delivery:\n  initial_backoff_s: 1\n  max_backoff_s: 2\n  max_attempts: 100\n";
}

// SOP Instance UIDs of everything Orthanc holds (one entry per Orthanc instance).
std::multiset<std::string> sop_uids_in(const OrthancPeer& pacs) {
  std::multiset<std::string> uids;
  for (const auto& id : pacs.instances()) uids.insert(pacs.tags(id).value("SOPInstanceUID", ""));
  return uids;
}

// Sends `bytes` to 127.0.0.1:port on a plain TCP socket, then reads until the peer closes
// (or 10 s pass). Returns false when the connection could not be made.
bool send_raw(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the node may close as soon as it sees the first bad PDU header
    sent += static_cast<std::size_t>(n);
  }
  char buf[4096];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
  ::close(fd);
  return true;
}

// A TCP relay on 127.0.0.1 that holds every chunk travelling back from the target for
// `delay_s`: a slow PACS, so that a delivery takes long enough to be interrupted.
class SlowRelay {
 public:
  SlowRelay(const fs::path& dir, int target_port, double delay_s) {
    const fs::path script = dir / "slow_relay.py";
    std::ofstream(script) << R"(import socket, sys, threading, time
port, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
def pump(a, b, d):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            if d:
                time.sleep(d)
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = srv.accept()
    try:
        u = socket.create_connection(("127.0.0.1", target))
    except OSError:
        c.close()
        continue
    threading.Thread(target=pump, args=(c, u, 0), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, delay), daemon=True).start()
)";
    const auto server = start_on_free_port(
        [&](int port) {
          return "/usr/bin/python3 " + script.string() + " " + std::to_string(port) + " " +
                 std::to_string(target_port) + " " + std::to_string(delay_s);
        },
        dir / "relay.log", [](int port) { return send_probe(port); });
    port_ = server.port;
    pid_ = server.pid;
  }
  ~SlowRelay() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }
  int port() const { return port_; }

 private:
  static bool send_probe(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }
  int port_ = 0;
  pid_t pid_ = -1;
};

struct Study {
  fs::path dir;
  phantom::PhantomTruth truth;
};
Study* g_study = nullptr;

}  // namespace

class ServeRobustness : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_study = new Study;
    g_study->dir = make_temp_dir("livernode-robust-study");
    g_study->truth = phantom::generate_phantom(tiny_two_phase_study(23), g_study->dir / "study");
  }
  static void TearDownTestSuite() {
    fs::remove_all(g_study->dir);
    delete g_study;
    g_study = nullptr;
  }
  void SetUp() override { dir_ = make_temp_dir("livernode-robust"); }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path study_dicom() const { return g_study->dir / "study" / "dicom"; }
  fs::path dir_;
};

// Random bytes, then an HTTP request, on the DICOM port: each connection is dropped with a log
// line that says what arrived, and the node keeps answering DICOM peers.
TEST_F(ServeRobustness, GarbageOnTheDicomPortIsLoggedAndServingContinues) {
  NodeProcess node(dir_ / "node");
  node.start();
  std::mt19937 rng(7);
  std::string garbage(64 * 1024, '\0');
  for (auto& c : garbage) c = static_cast<char>(rng() & 0xff);
  garbage += "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_TRUE(send_raw(node.dicom_port(), garbage));
  ASSERT_TRUE(send_raw(node.dicom_port(), "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  // An A-ASSOCIATE-RQ header that announces a huge PDU, then nothing: must not make the node
  // wait for (or allocate) 4 GB.
  ASSERT_TRUE(send_raw(node.dicom_port(), std::string("\x01\x00\xff\xff\xff\xff", 6)));

  const auto echo = run_command("echoscu -aet STORESCU " + node.peer());
  EXPECT_EQ(echo.status, 0) << echo.output << node.log();
  const auto sent = send_with_storescu(node, study_dicom() / "arterial");
  EXPECT_EQ(sent.status, 0) << sent.output;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 24u);
  EXPECT_TRUE(eventually(
      [&] { return node.log().find("event=association_receive_failed") != std::string::npos; }, 5))
      << node.log();
  EXPECT_NE(node.get("/metrics").find("livernode_associations_rejected_total"), std::string::npos);
  // Three connections that never sent a valid association request.
  EXPECT_NE(node.get("/metrics").find("livernode_associations_receive_failed_total 3"),
            std::string::npos)
      << node.get("/metrics");
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// Rejected associations end within microseconds of their request. Thirty of them (a wrong
// called AE title, a calling AE title not on the allow-list, one from the allow-list arriving
// from another network) between accepted echoes, then a burst of eight at once: the node keeps
// running, answers every accepted echo and /healthz, counts each rejection and stops cleanly.
TEST_F(ServeRobustness, ManyRejectedAssociationsBetweenEchoesLeaveTheNodeServing) {
  NodeProcess node(dir_ / "node",
                   "  allowed_callers:\n    - ae_title: STORESCU\n    - ae_title: OTHER\n      "
                   "host: 10.0.0.0/8\n");
  node.start();
  // A process that died stays a zombie of this test until stop() reaps it: look at its state.
  auto running = [&] {
    std::ifstream stat("/proc/" + std::to_string(node.pid()) + "/stat");
    std::string pid, name, state;
    stat >> pid >> name >> state;
    return stat.good() && state != "Z" && state != "X";
  };
  const std::string wrong_called =
      "echoscu -aet STORESCU -aec SOMEONE 127.0.0.1 " + std::to_string(node.dicom_port());
  const std::string commands[] = {wrong_called, "echoscu -aet INTRUDER " + node.peer(),
                                  "echoscu -aet OTHER " + node.peer()};
  int rejected = 0, accepted = 0;
  for (int i = 0; i < 30; ++i) {
    const auto r = run_command(commands[i % 3]);
    ASSERT_NE(r.status, 0) << "association " << i << " was accepted:\n" << r.output;
    ASSERT_NE(r.output.find(i % 3 == 0 ? "Called AE Title Not Recognized"
                                       : "Calling AE Title Not Recognized"),
              std::string::npos)
        << r.output << node.log();
    ++rejected;
    if (i % 4 == 3) {
      const auto echo = run_command("echoscu -aet STORESCU " + node.peer());
      ASSERT_EQ(echo.status, 0) << "echo after " << rejected << " rejections:\n"
                                << echo.output << node.log();
      ++accepted;
    }
  }
  ASSERT_TRUE(running()) << node.log();
  // Eight at once, more than node.max_associations (4): each is rejected, by the allow-list
  // or for want of a free slot.
  std::string burst;
  for (int i = 0; i < 8; ++i) burst += "(" + commands[i % 3] + " > /dev/null 2>&1) & ";
  run_command(burst + "wait");
  rejected += 8;

  ASSERT_TRUE(running()) << node.log();
  const auto echo = run_command("echoscu -aet STORESCU " + node.peer());
  EXPECT_EQ(echo.status, 0) << echo.output << node.log();
  ++accepted;
  EXPECT_EQ(node.status_of("/healthz"), 200);
  const std::string metrics = node.get("/metrics");
  EXPECT_NE(metrics.find("livernode_associations_rejected_total " + std::to_string(rejected)),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("livernode_associations_accepted_total " + std::to_string(accepted)),
            std::string::npos)
      << metrics;
  EXPECT_EQ(node.stop(), 0) << node.log();
  EXPECT_EQ(node.log().find("malloc"), std::string::npos) << node.log();
}

// A file that is not DICOM and a DICOM file whose pixel data is cut short: nothing crashes, the
// node refuses or stores, and the analysis names the broken series instead of using it.
TEST_F(ServeRobustness, BrokenFilesAreRefusedOrReportedAndNothingCrashes) {
  NodeProcess node(dir_ / "node");
  node.start();
  node::SqliteStateStore store(node.state_db());

  // Not DICOM at all: storescu itself refuses to send it (nothing reaches the node).
  const fs::path text = dir_ / "notes.dcm";
  std::ofstream(text) << "this is a text file, not a DICOM object\n";
  const auto not_dicom = run_command("storescu -aet STORESCU " + node.peer() + " " + text.string());
  EXPECT_NE(not_dicom.status, 0) << not_dicom.output;

  // A DICOM file cut in the middle of its pixel data: storescu cannot read it either.
  std::vector<fs::path> sources;
  for (const auto& e : fs::directory_iterator(study_dicom() / "portal_venous"))
    sources.push_back(e.path());
  std::sort(sources.begin(), sources.end());
  const fs::path cut_file = dir_ / "cut.dcm";
  fs::copy_file(sources[0], cut_file);
  fs::resize_file(cut_file, fs::file_size(sources[0]) / 2);
  const auto truncated =
      run_command("storescu -aet STORESCU " + node.peer() + " " + cut_file.string());
  EXPECT_NE(truncated.status, 0) << truncated.output;
  EXPECT_EQ(store.counts().instances, 0);

  // What a sender can really put on the wire: a well-formed dataset whose Pixel Data holds half
  // the rows it announces, in a series of its own (new study, series and frame of reference
  // UIDs, another patient: an examination of its own, not a visit of the good study below).
  const fs::path broken = dir_ / "broken";
  fs::create_directories(broken);
  const std::string script =
      "import pydicom, sys, os\n"
      "from pydicom.uid import generate_uid\n"
      "study, series, frame = generate_uid(), generate_uid(), generate_uid()\n"
      "for i, path in enumerate(sys.argv[2:]):\n"
      "    ds = pydicom.dcmread(path)\n"
      "    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series\n"
      "    ds.FrameOfReferenceUID, ds.PatientID = frame, 'BROKEN-0001'\n"
      "    ds.SOPInstanceUID = generate_uid()\n"
      "    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID\n"
      "    if i == 3:\n"
      "        ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]\n"
      "        cut = ds.SOPInstanceUID\n"
      "    ds.save_as(os.path.join(sys.argv[1], '%03d.dcm' % i), write_like_original=False)\n"
      "print(study)\n"
      "print(cut)\n";
  std::string args = broken.string();
  for (const auto& s : sources) args += " " + s.string();
  const auto made = run_python_script(dir_, "cut_pixels.py", script, args);
  ASSERT_EQ(made.status, 0) << made.output;
  std::istringstream made_lines(made.output);
  std::string broken_study, broken_sop;
  std::getline(made_lines, broken_study);
  std::getline(made_lines, broken_sop);
  ASSERT_FALSE(broken_sop.empty()) << made.output;
  const auto sent = send_with_storescu(node, broken);
  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0)
      << truncated.output << sent.output << node.log();

  // Stored as received (the node does not decode pixels on the wire) ...
  EXPECT_EQ(store.counts().instances, static_cast<std::int64_t>(sources.size())) << sent.output;
  // ... and the analysis rejects the series with a reason, instead of analysing a volume with a
  // hole in it or dying.
  ASSERT_TRUE(
      jobs_reach(store, 1, {node::JobState::done, node::JobState::failed}, 60, broken_study))
      << node.log();
  const auto job = store.jobs(broken_study, 10)[0];
  EXPECT_EQ(job.state, node::JobState::failed);
  EXPECT_EQ(job.objects, 0);
  EXPECT_NE(job.error.find("no series could be loaded"), std::string::npos) << job.error;
  std::ifstream summary_file(fs::path(job.result_dir) / "summary.json");
  ASSERT_TRUE(summary_file) << job.result_dir;
  const auto summary = nlohmann::json::parse(summary_file);
  ASSERT_EQ(summary["analyses"].size(), 1u) << summary.dump(2);
  const auto& series = summary["analyses"][0]["series"];
  ASSERT_EQ(series.size(), 1u);
  EXPECT_NE(series[0].value("error", "").find(broken_sop), std::string::npos) << series.dump(2);
  EXPECT_NE(series[0].value("error", "").find("cut short"), std::string::npos) << series.dump(2);

  // Still serving, and a good study afterwards is analysed normally.
  const auto good = send_with_storescu(node, study_dicom());
  ASSERT_EQ(good.status, 0) << good.output;
  ASSERT_TRUE(single_job_done(store, 60, g_study->truth.study_uid)) << node.log();
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// The PACS is down when the results are ready: they wait in the outbox, are retried, and arrive
// exactly once after the PACS starts.
TEST_F(ServeRobustness, ResultsWaitForADownPacsAndArriveOnceWhenItComesUp) {
  const int pacs_dicom = free_tcp_port();
  int pacs_http = free_tcp_port();
  while (pacs_http == pacs_dicom) pacs_http = free_tcp_port();
  NodeProcess node(dir_ / "node", "", destination_yaml("PACS", pacs_dicom));
  node.start();
  const auto sent = send_with_storescu(node, study_dicom());
  ASSERT_EQ(sent.status, 0) << sent.output;
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(single_job_done(store, 60)) << node.log();
  const auto job = store.jobs("", 10)[0];
  ASSERT_GE(job.objects, 3);
  // At least two failed attempts on every row while the PACS is down.
  ASSERT_TRUE(eventually(
      [&] {
        const auto pending = store.outbox(node::DeliveryState::pending, 100);
        if (static_cast<std::int64_t>(pending.size()) != job.objects) return false;
        for (const auto& r : pending)
          if (r.attempts < 2) return false;
        return true;
      },
      20))
      << node.log();
  EXPECT_TRUE(store.outbox(node::DeliveryState::delivered, 100).empty());
  EXPECT_NE(node.log().find("event=delivery_retry"), std::string::npos);

  auto pacs = OrthancPeer::start(dir_ / "orthanc", "PACS", pacs_dicom, pacs_http);
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 20))
      << node.log();
  EXPECT_EQ(static_cast<std::int64_t>(store.outbox(node::DeliveryState::delivered, 100).size()),
            job.objects);
  EXPECT_TRUE(store.outbox(node::DeliveryState::dead, 100).empty());
  // Nothing more arrives later (no late duplicate from a stale retry).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto uids = sop_uids_in(*pacs);
  EXPECT_EQ(static_cast<std::int64_t>(uids.size()), job.objects);
  EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()).size(), uids.size());
  std::set<std::string> expected;
  for (const auto& r : store.outbox(node::DeliveryState::delivered, 100))
    expected.insert(r.sop_instance_uid);
  EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()), expected);
  EXPECT_EQ(node.stop(), 0);
}

// kill -9 while the analysis runs, then again while the results are being sent: after each
// restart nothing received is lost, the job finishes, and the PACS ends up with each result
// object once.
TEST_F(ServeRobustness, KillNineDuringAnalysisAndDuringSendingLosesAndDuplicatesNothing) {
  auto pacs = OrthancPeer::start(dir_ / "orthanc", "PACS");
  // Each answer from the PACS comes 0.6 s late, so that sending the results takes seconds.
  SlowRelay relay(dir_, pacs->dicom_port(), 0.6);
  NodeProcess node(dir_ / "node", "", destination_yaml("PACS", relay.port()));
  node.start();
  const auto sent = send_with_storescu(node, study_dicom());
  ASSERT_EQ(sent.status, 0) << sent.output;
  const std::size_t received = 48;

  // 1. During the analysis.
  {
    node::SqliteStateStore store(node.state_db());
    ASSERT_TRUE(jobs_reach(store, 1, {node::JobState::running}, 30, "", 20)) << node.log();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  node.kill_hard();
  {
    node::SqliteStateStore store(node.state_db());
    const auto jobs = store.jobs("", 10);
    ASSERT_EQ(jobs.size(), 1u);
    ASSERT_EQ(jobs[0].state, node::JobState::running) << "the analysis had ended before the kill";
    EXPECT_TRUE(store.outbox(std::nullopt, 100).empty());
    EXPECT_EQ(store.counts().instances, static_cast<std::int64_t>(received));
  }
  EXPECT_EQ(count_files(node.spool(), ".dcm"), received);
  EXPECT_EQ(count_files(node.spool(), ".tmp-"), 0u);

  // 2. Restarted: the job runs again; killed once the first result has been delivered.
  node.start();
  ASSERT_TRUE(
      eventually([&] { return node.log().find("event=delivered") != std::string::npos; }, 90, 20))
      << node.log();
  node.kill_hard();
  std::int64_t objects = 0;
  {
    node::SqliteStateStore store(node.state_db());
    const auto jobs = store.jobs("", 10);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].state, node::JobState::done);
    EXPECT_EQ(jobs[0].attempts, 2);
    objects = jobs[0].objects;
    ASSERT_GE(objects, 3);
    ASSERT_FALSE(store.outbox(node::DeliveryState::pending, 100).empty())
        << "every result was sent before the kill";
    EXPECT_EQ(store.counts().instances, static_cast<std::int64_t>(received));
  }
  EXPECT_EQ(count_files(node.spool(), ".dcm"), received);

  // 3. Restarted again: the rest is delivered, nothing twice.
  node.start();
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 60))
      << node.log();
  EXPECT_EQ(static_cast<std::int64_t>(store.outbox(node::DeliveryState::delivered, 100).size()),
            objects);
  EXPECT_EQ(store.jobs("", 10).size(), 1u);
  const auto uids = sop_uids_in(*pacs);
  EXPECT_EQ(static_cast<std::int64_t>(uids.size()), objects);
  EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()).size(), uids.size());
  std::set<std::string> expected;
  for (const auto& r : store.outbox(node::DeliveryState::delivered, 100))
    expected.insert(r.sop_instance_uid);
  EXPECT_EQ(std::set<std::string>(uids.begin(), uids.end()), expected);
  EXPECT_EQ(node.stop(), 0);
}

// An analysis that does not return (here an external segmentation program that sleeps the first
// time it runs) is failed at processing.job_time_limit_s and its worker replaced: the series
// that arrives next is analysed by the new worker while the old one is still stuck, and when the
// stuck analysis ends at last its results are discarded, never delivered.
TEST_F(ServeRobustness, AnAnalysisPastTheTimeLimitIsFailedAndTheStudiesBehindItGoOn) {
  const fs::path marker = dir_ / "hung-once";
  std::ofstream(dir_ / "hangs-once.sh")
      << "#!/bin/sh\nif [ ! -e " << marker.string() << " ]; then touch " << marker.string()
      << "; sleep 30; fi\nexit 3\n";
  fs::permissions(dir_ / "hangs-once.sh", fs::perms::owner_all, fs::perm_options::add);
  NodeProcess node(dir_ / "node", "",
                   "processing:\n  workers: 1\n  segmentation_backend: external\n"
                   "  external_command: [" +
                       (dir_ / "hangs-once.sh").string() +
                       "]\n  external_timeout_s: 60\n  job_time_limit_s: 10\n");
  node.start();
  const auto first = send_with_storescu(node, study_dicom() / "arterial");
  ASSERT_EQ(first.status, 0) << first.output;
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(jobs_reach(store, 1, {node::JobState::failed}, 60, "", 50)) << node.log();
  EXPECT_NE(store.jobs("", 10)[0].error.find("time limit of 10 s"), std::string::npos)
      << store.jobs("", 10)[0].error;
  EXPECT_TRUE(fs::exists(marker));
  // The only worker is stuck in the sleeping program: the next series is analysed by its
  // replacement, before the stuck one returns.
  const auto second = send_with_storescu(node, study_dicom() / "portal_venous");
  ASSERT_EQ(second.status, 0) << second.output;
  ASSERT_TRUE(jobs_reach(store, 2, {node::JobState::done}, 60, "", 50)) << node.log();
  EXPECT_EQ(node.log().find("event=job_late_result"), std::string::npos)
      << "the stuck analysis ended before the next one: the test proves nothing";
  // The stuck analysis ends (the program sleeps 30 s): its results go nowhere.
  ASSERT_TRUE(eventually(
      [&] { return node.log().find("event=job_late_result") != std::string::npos; }, 60, 50))
      << node.log();
  const auto jobs = store.jobs("", 10);
  ASSERT_EQ(jobs.size(), 2u);
  for (const auto& job : jobs) {
    if (job.state == node::JobState::failed) continue;
    EXPECT_EQ(job.state, node::JobState::done);
  }
  for (const auto& row : store.outbox(std::nullopt, 100)) {
    EXPECT_EQ(row.job_id, jobs[0].id) << "a delivery of the abandoned analysis was queued";
  }
  const std::string metrics = node.get("/metrics");
  EXPECT_NE(metrics.find("livernode_jobs_timed_out_total 1"), std::string::npos) << metrics;
  // Asked for over HTTP, the study is analysed again as a new version (the program no longer
  // hangs); an unknown study or a bad UID is refused.
  const std::string study_uid = jobs[0].study_uid;
  const std::string post = "-X POST";
  EXPECT_EQ(node.status_of("/api/studies/1.2.3.999/reanalyse", post), 404);
  EXPECT_EQ(node.status_of("/api/studies/not..a.uid/reanalyse", post), 400);
  ASSERT_EQ(node.status_of("/api/studies/" + study_uid + "/reanalyse", post), 200) << node.log();
  ASSERT_TRUE(jobs_reach(store, 3, {node::JobState::done}, 60, "", 50)) << node.log();
  EXPECT_EQ(store.jobs("", 10)[0].version, 3);
  EXPECT_NE(node.log().find("event=job_requested"), std::string::npos);
  EXPECT_EQ(node.stop(), 0);
}

// A real HCC case (two contrast phases, 5 mm, 512 x 512, a coronal reformat in each series
// folder) sent through the node into Orthanc: SEG, SR and summary images arrive under the
// source patient and study.
TEST_F(ServeRobustness, RealHccCaseThroughTheNodeIntoOrthanc) {
  const fs::path ct = shared_data() / "real" / "hcc-tace-1720" / "ct";
  LIVERNODE_REQUIRE_DATA(ct);
  auto pacs = OrthancPeer::start(dir_ / "orthanc", "PACS");
  NodeProcess node(dir_ / "node", "", destination_yaml("PACS", pacs->dicom_port()));
  node.start();
  const auto sent = send_with_storescu(node, ct);
  ASSERT_EQ(sent.status, 0) << sent.output;
  // The source patient and study, as the sender's files say.
  std::string patient_id, study_uid;
  for (const auto& e : fs::recursive_directory_iterator(ct)) {
    if (!e.is_regular_file()) continue;
    const auto dump =
        run_command("dcmdump -q -s +P PatientID +P StudyInstanceUID " + e.path().string());
    std::istringstream lines(dump.output);
    for (std::string line; std::getline(lines, line);) {
      const auto open = line.find('['), close = line.find(']');
      if (open == std::string::npos || close == std::string::npos) continue;
      const std::string value = line.substr(open + 1, close - open - 1);
      if (line.find("(0010,0020)") != std::string::npos) patient_id = value;
      if (line.find("(0020,000d)") != std::string::npos) study_uid = value;
    }
    if (!patient_id.empty() && !study_uid.empty()) break;
  }
  ASSERT_FALSE(study_uid.empty());
  node::SqliteStateStore store(node.state_db());
  // Its two phases carry their own StudyInstanceUIDs: one visit, one job (of the visit's lead
  // study), whose results are filed in the study of the reference series.
  ASSERT_TRUE(jobs_reach(store, 1, {node::JobState::done, node::JobState::failed}, 240))
      << node.log();
  const auto job = store.jobs("", 10)[0];
  ASSERT_EQ(job.state, node::JobState::done) << job.error << node.log();
  EXPECT_EQ(store.visit_of(study_uid), job.study_uid);
  {
    std::ifstream in(fs::path(job.result_dir) / "summary.json");
    const auto summary = nlohmann::json::parse(in);
    ASSERT_EQ(summary.at("analyses").size(), 1u);
    const auto reference = store.series_by_uid(
        summary.at("analyses")[0].at("reference_series_instance_uid").get<std::string>());
    ASSERT_TRUE(reference);
    study_uid = reference->study_uid;
  }
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 60))
      << node.log();
  EXPECT_TRUE(store.outbox(node::DeliveryState::dead, 100).empty());
  const auto ids = pacs->instances();
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), job.objects);
  std::multiset<std::string> modalities;
  int secondary_captures = 0;
  for (const auto& id : ids) {
    const auto tags = pacs->tags(id);
    modalities.insert(tags.value("Modality", ""));
    EXPECT_EQ(tags.value("StudyInstanceUID", ""), study_uid);
    if (tags.value("SOPClassUID", "").rfind("1.2.840.10008.5.1.4.1.1.7", 0) == 0)
      ++secondary_captures;  // the summary pages
  }
  // The liver and lesions SEG, and with Couinaud segments also theirs and the remnant's.
  EXPECT_GE(modalities.count("SEG"), 1u);
  EXPECT_LE(modalities.count("SEG"), 3u);
  EXPECT_EQ(modalities.count("SR"), 1u);
  EXPECT_GE(secondary_captures, 1);
  EXPECT_GE(job.objects, 3);
  // One patient in the PACS, the sender's.
  const auto patients = pacs->get("/patients");
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_EQ(pacs->get("/patients/" + patients[0].get<std::string>())["MainDicomTags"].value(
                "PatientID", ""),
            patient_id);
  EXPECT_EQ(node.stop(), 0);
}

// The state database loses what it knew about received instances (its last commits are not
// waited for; here it is deleted altogether): at the next start the node records every spooled
// instance again from the files, with the sender's AE title kept in each file's meta header,
// and analyses the study as if nothing had happened.
TEST_F(ServeRobustness, InstancesTheStateDatabaseLostAreRecoveredFromTheSpool) {
  NodeProcess node(dir_ / "node");
  node.start();
  const auto sent = send_with_storescu(node, study_dicom() / "arterial");
  ASSERT_EQ(sent.status, 0) << sent.output;
  node.kill_hard();
  ASSERT_EQ(count_files(node.spool(), ".dcm"), 24u);
  for (const auto& e : fs::recursive_directory_iterator(node.spool())) {
    if (!e.is_regular_file() || e.path().extension() != ".dcm") continue;
    const auto dump =
        run_command("dcmdump -q +P SourceApplicationEntityTitle " + e.path().string());
    EXPECT_NE(dump.output.find("[STORESCU]"), std::string::npos) << dump.output;
    break;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(node.state_db().string() + suffix);
  // A stray file that is not DICOM is reported and left where it is, never deleted.
  const fs::path stray =
      fs::path(node.spool()) / g_study->truth.study_uid / "1.2.3" / "1.2.3.4.dcm";
  fs::create_directories(stray.parent_path());
  std::ofstream(stray) << "not dicom";

  node.start();
  EXPECT_TRUE(eventually(
      [&] {
        return node.log().find("recovered_instances=24 unrecoverable_files=1") != std::string::npos;
      },
      10))
      << node.log();
  node::SqliteStateStore store(node.state_db());
  EXPECT_EQ(store.counts().instances, 24);
  ASSERT_TRUE(store.study(g_study->truth.study_uid));
  EXPECT_EQ(store.study(g_study->truth.study_uid)->calling_ae, "STORESCU");
  EXPECT_TRUE(fs::exists(stray));
  EXPECT_TRUE(single_job_done(store, 60, g_study->truth.study_uid)) << node.log();
  // A second start finds nothing to recover.
  EXPECT_EQ(node.stop(), 0) << node.log();
  node.start();
  EXPECT_TRUE(eventually(
      [&] {
        return node.log().find("recovered_instances=0 unrecoverable_files=1") != std::string::npos;
      },
      10))
      << node.log();
  EXPECT_EQ(store.counts().instances, 24);
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// --- Hostile peers: silent, half-open and stalled connections ------------------------------

namespace {

std::string be16(std::size_t n) {
  return {static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}
std::string be32(std::size_t n) { return be16((n >> 16) & 0xffff) + be16(n & 0xffff); }
std::string pdu_item(int type, const std::string& payload) {
  return std::string{static_cast<char>(type), '\0'} + be16(payload.size()) + payload;
}
std::string ae_field(std::string ae) {
  ae.resize(16, ' ');
  return ae;
}

// An A-ASSOCIATE-RQ to LIVERNODE from `calling` proposing Verification, implicit little endian.
std::string associate_rq(const std::string& calling) {
  std::string body =
      be16(1) + be16(0) + ae_field("LIVERNODE") + ae_field(calling) + std::string(32, '\0') +
      pdu_item(0x10, "1.2.840.10008.3.1.1.1") +
      pdu_item(0x20, std::string("\x01\0\0\0", 4) + pdu_item(0x30, "1.2.840.10008.1.1") +
                         pdu_item(0x40, "1.2.840.10008.1.2")) +
      pdu_item(0x50, pdu_item(0x51, be32(16384)) + pdu_item(0x52, "1.2.826.0.1.3680043.2.1143.1"));
  return std::string("\x01\0", 2) + be32(body.size()) + body;
}

// The first bytes of a P-DATA-TF PDU that announces 1000: a PDU cut short.
std::string partial_p_data() {
  return std::string("\x04\0", 2) + be32(1000) + std::string(10, '\0');
}

const std::string kAAbort("\x07\0\0\0\0\x04\0\0\0\0", 10);

// A raw TCP connection to a port of this machine from `source` (any 127.x.y.z address is
// local), for the hostile peers below: plain POSIX sockets, nothing DICOM does for them.
class RawPeer {
 public:
  RawPeer(int port, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawPeer() { ::close(fd_); }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Ends the sending side: the node reads the end of the stream, the connection stays half open.
  void end_sending() { ::shutdown(fd_, SHUT_WR); }

  // The type of the next PDU the node sends (0: the connection ended, or nothing within
  // `seconds`).
  int read_pdu_type(double seconds) {
    std::string header = read_exactly(6, seconds);
    if (header.size() < 6) return 0;
    const std::size_t length = (static_cast<unsigned char>(header[2]) << 24) |
                               (static_cast<unsigned char>(header[3]) << 16) |
                               (static_cast<unsigned char>(header[4]) << 8) |
                               static_cast<unsigned char>(header[5]);
    if (read_exactly(length, seconds).size() < length) return 0;
    return static_cast<unsigned char>(header[0]);
  }

  // True while the node keeps the connection open without a word: nothing to read, no end.
  bool quietly_open() const {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // Seconds until the node closes the connection (what it sends is read and dropped); a
  // negative number when it is still open after `limit` seconds.
  double seconds_until_closed(double limit) {
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    char buffer[4096];
    while (elapsed() < limit) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return elapsed();
    }
    return -1;
  }

 private:
  std::string read_exactly(std::size_t n, double seconds) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    char buffer[4096];
    while (out.size() < n && std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t got = ::recv(fd_, buffer, std::min(sizeof buffer, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buffer, static_cast<std::size_t>(got));
    }
    return out;
  }

  int fd_ = -1;
  bool connected_ = false;
};

using Peers = std::vector<std::unique_ptr<RawPeer>>;

struct Timed {
  CommandResult result;
  double seconds = 0;
};
Timed timed(const std::string& command) {
  const auto start = std::chrono::steady_clock::now();
  Timed t;
  t.result = run_command(command);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

// What a legitimate caller must get within 2 s however many hostile peers are connected.
constexpr double kServedWithin = 2.0;

// A legitimate C-ECHO, a C-STORE of `file` and a GET /healthz, each within kServedWithin.
void expect_served(const NodeProcess& node, const std::string& dicom_target,
                   const std::filesystem::path& file, std::size_t hostile,
                   const std::string& client_options = "") {
  const auto echo = timed("echoscu -aet STORESCU" + client_options + dicom_target);
  EXPECT_EQ(echo.result.status, 0) << hostile << " hostile peers\n" << echo.result.output;
  EXPECT_LT(echo.seconds, kServedWithin) << "C-ECHO with " << hostile << " hostile peers";
  const auto store = timed("TCP_NODELAY=1 storescu -aet STORESCU" + client_options + dicom_target +
                           " " + file.string());
  EXPECT_EQ(store.result.status, 0) << hostile << " hostile peers\n" << store.result.output;
  EXPECT_LT(store.seconds, kServedWithin) << "C-STORE with " << hostile << " hostile peers";
  const auto health = timed("curl -sf -m 30 -o /dev/null " + node.url("/healthz"));
  EXPECT_EQ(health.result.status, 0) << hostile << " hostile peers";
  EXPECT_LT(health.seconds, kServedWithin) << "/healthz with " << hostile << " hostile peers";
}

// Opens hostile connections to `port` from `source` until there are `count`: a third send
// nothing, a third the first bytes of `opening` and then nothing, a third those bytes and then
// end their sending side (half open).
void open_hostile(Peers& peers, std::size_t count, int port, const std::string& source,
                  const std::string& opening) {
  while (peers.size() < count) {
    auto peer = std::make_unique<RawPeer>(port, source);
    ASSERT_TRUE(peer->connected()) << "connection " << peers.size();
    const std::size_t kind = peers.size() % 3;
    if (kind != 0) {
      ASSERT_TRUE(peer->send(opening));
    }
    if (kind == 2) peer->end_sending();
    peers.push_back(std::move(peer));
  }
}

fs::path first_file(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files.front();
}

}  // namespace

// Silent and half-open connections on the DICOM port, from an address the allow-list does not
// name: each waits for its association request on its own thread, so one and fifty of them
// delay a legitimate echo and store by nothing; each is closed after its own
// node.acse_timeout_s, all at about the same time rather than one after another.
TEST_F(ServeRobustness, SilentAndHalfOpenDicomConnectionsDelayNoOne) {
  NodeProcess node(dir_ / "node",
                   "  acse_timeout_s: 8\n  allowed_callers:\n    - ae_title: STORESCU\n      "
                   "host: 127.0.0.1\n");
  node.start();
  const fs::path file = first_file(study_dicom() / "arterial");
  Peers peers;
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{50}}) {
    ASSERT_NO_FATAL_FAILURE(open_hostile(peers, count, node.dicom_port(), "127.0.0.2",
                                         associate_rq("INTRUDER").substr(0, 40)));
    expect_served(node, " " + node.peer(), file, count);
  }
  for (std::size_t i = 0; i < peers.size(); i += 3)
    EXPECT_TRUE(peers[i]->quietly_open()) << "silent connection " << i << " was dropped early";
  for (std::size_t i = 0; i < peers.size(); ++i)
    EXPECT_GE(peers[i]->seconds_until_closed(15), 0)
        << "connection " << i << " still open after node.acse_timeout_s";
  EXPECT_TRUE(eventually(
      [&] {
        return node.get("/metrics").find("livernode_associations_receive_failed_total 50") !=
               std::string::npos;
      },
      5))
      << node.get("/metrics");
  EXPECT_NE(node.log().find("no association request within node.acse_timeout_s=8"),
            std::string::npos);
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// The same on the TLS port: silent connections and handshakes cut short hold only themselves.
TEST_F(ServeRobustness, SilentAndHalfOpenTlsConnectionsDelayNoOne) {
  const fs::path tls = dir_ / "tls";
  ASSERT_NO_FATAL_FAILURE(make_test_certificates(tls));
  const std::string t = tls.string();
  NodeProcess node(dir_ / "node", "  acse_timeout_s: 8\n" + tls_section(t, free_tcp_port()));
  node.start();
  const fs::path file = first_file(study_dicom() / "arterial");
  const std::string client = " +tls " + t + "/client.key " + t + "/client.pem +cf " + t + "/ca.pem";
  const std::string target = " -aec LIVERNODE 127.0.0.1 " + std::to_string(node.tls_port());
  // The first bytes of a TLS ClientHello record.
  const std::string hello("\x16\x03\x01\x02\x00\x01", 6);
  Peers peers;
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{50}}) {
    ASSERT_NO_FATAL_FAILURE(open_hostile(peers, count, node.tls_port(), "127.0.0.1", hello));
    expect_served(node, target, file, count, client);
  }
  for (std::size_t i = 0; i < peers.size(); i += 3)
    EXPECT_TRUE(peers[i]->quietly_open()) << "silent connection " << i << " was dropped early";
  for (std::size_t i = 0; i < peers.size(); ++i)
    EXPECT_GE(peers[i]->seconds_until_closed(15), 0) << "connection " << i << " still open";
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// Associations that stop in the middle of a P-DATA-TF PDU. Fifty callers from one address get
// at most that address's share of the slots (node.max_associations_per_source: 3 of 4), so the
// others are served at once; once every slot is held by a stalled association, those whose peer
// has been silent beyond node.stall_timeout_s give their slot to new callers (A-ABORT), and
// the connection closes at once.
TEST_F(ServeRobustness, StalledAssociationsGiveTheirSlotsToOthers) {
  NodeProcess node(dir_ / "node", "  stall_timeout_s: 1\n");
  node.start();
  const fs::path file = first_file(study_dicom() / "arterial");
  Peers stalled;
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 50; ++i) {
    auto peer = std::make_unique<RawPeer>(node.dicom_port(), "127.0.0.2");
    ASSERT_TRUE(peer->connected());
    ASSERT_TRUE(peer->send(associate_rq("STORESCU")));
    const int answer = peer->read_pdu_type(10);
    if (answer == 0x02) {  // A-ASSOCIATE-AC
      ++accepted;
      ASSERT_TRUE(peer->send(partial_p_data()));
      stalled.push_back(std::move(peer));
    } else {
      EXPECT_EQ(answer, 0x03) << "association " << i;  // A-ASSOCIATE-RJ
      ++rejected;
    }
  }
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(rejected, 47);
  expect_served(node, " " + node.peer(), file, stalled.size());
  for (const auto& peer : stalled) EXPECT_TRUE(peer->quietly_open());

  // The last slot stalled too, from the address of the legitimate callers: every slot is held.
  auto last = std::make_unique<RawPeer>(node.dicom_port(), "127.0.0.1");
  ASSERT_TRUE(last->send(associate_rq("STORESCU")));
  ASSERT_EQ(last->read_pdu_type(10), 0x02);
  ASSERT_TRUE(last->send(partial_p_data()));
  stalled.push_back(std::move(last));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  expect_served(node, " " + node.peer(), file, stalled.size());
  EXPECT_NE(node.log().find("event=association_preempted"), std::string::npos) << node.log();
  // One slot was given up, for the echo (the store found it free again afterwards); its peer got
  // an A-ABORT and the end of the connection right after it.
  int aborted = 0;
  for (const auto& peer : stalled) {
    if (peer->quietly_open()) continue;
    EXPECT_EQ(peer->read_pdu_type(5), 0x07);
    EXPECT_GE(peer->seconds_until_closed(1), 0);
    ++aborted;
  }
  EXPECT_EQ(aborted, 1);
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// An association the node ends (here: no data within node.dimse_timeout_s) is closed right
// after the node's A-ABORT instead of waiting up to 30 s for the peer to close; one the peer
// aborts is closed at once.
TEST_F(ServeRobustness, AbortedAssociationsAreClosedAtOnce) {
  NodeProcess node(dir_ / "node", "  dimse_timeout_s: 2\n");
  node.start();
  RawPeer stalled(node.dicom_port(), "127.0.0.1");
  ASSERT_TRUE(stalled.send(associate_rq("STORESCU")));
  ASSERT_EQ(stalled.read_pdu_type(10), 0x02);
  ASSERT_TRUE(stalled.send(partial_p_data()));
  EXPECT_EQ(stalled.read_pdu_type(10), 0x07);  // the node's A-ABORT after 2 s
  const double closed = stalled.seconds_until_closed(10);
  EXPECT_GE(closed, 0);
  EXPECT_LT(closed, 1.0);

  RawPeer aborting(node.dicom_port(), "127.0.0.1");
  ASSERT_TRUE(aborting.send(associate_rq("STORESCU")));
  ASSERT_EQ(aborting.read_pdu_type(10), 0x02);
  ASSERT_TRUE(aborting.send(kAAbort));
  const double after_abort = aborting.seconds_until_closed(10);
  EXPECT_GE(after_abort, 0);
  EXPECT_LT(after_abort, 1.0);
  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0);
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// Silent clients, requests cut short and clients that never read their answer on the HTTP
// port: every endpoint still answers within 2 s, with 1, 50 and 100 of them (beyond
// http.max_connections, 64, the connection waiting longest is closed); each is closed after
// http.timeout_s.
TEST_F(ServeRobustness, SilentHttpClientsDelayNoOne) {
  NodeProcess node(dir_ / "node", "", "", "  timeout_s: 6\n");
  node.start();
  Peers peers;
  for (std::size_t count : {std::size_t{1}, std::size_t{50}, std::size_t{100}}) {
    ASSERT_NO_FATAL_FAILURE(open_hostile(peers, count, node.http_port(), "127.0.0.1",
                                         "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"));
    for (const char* path : {"/healthz", "/readyz", "/metrics", "/api/studies", "/admin"}) {
      const auto r = timed("curl -s -m 30 -o /dev/null -w '%{http_code}' " + node.url(path));
      EXPECT_EQ(r.result.output, "200") << path << " with " << count << " hostile clients";
      EXPECT_LT(r.seconds, kServedWithin) << path << " with " << count << " hostile clients";
    }
    if (count == 50) {
      for (std::size_t i = 0; i < peers.size(); i += 3)
        EXPECT_TRUE(peers[i]->quietly_open()) << "silent client " << i << " was dropped early";
    }
  }
  for (std::size_t i = 0; i < peers.size(); ++i)
    EXPECT_GE(peers[i]->seconds_until_closed(10), 0) << "client " << i << " still connected";
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// --- A full disk ---------------------------------------------------------------------------

namespace {

// A small tmpfs with few inodes mounted on `dir` for the life of this object (root only): a disk
// that runs out of room for new files while the ingest journal's segments, written ahead, still
// take records. Keeps a copy of `log` when it goes.
class SmallDisk {
 public:
  SmallDisk(const fs::path& dir, const fs::path& log) : dir_(dir), log_(log) {
    fs::create_directories(dir);
    mounted_ =
        ::geteuid() == 0 &&
        run_command("mount -t tmpfs -o size=256m,nr_inodes=300 tmpfs " + dir.string()).status == 0;
  }
  ~SmallDisk() {
    if (!mounted_) return;
    std::error_code ec;
    fs::copy_file(log_, dir_.parent_path() / "serve.log", fs::copy_options::overwrite_existing, ec);
    run_command("umount " + dir_.string());
  }
  bool mounted() const { return mounted_; }

  // Creates empty files until no inode is left, then removes `keep_free` of them.
  void fill(std::size_t keep_free) {
    const fs::path filler = dir_ / "filler";
    fs::create_directories(filler);
    for (int i = 0;; ++i) {
      std::ofstream f(filler / std::to_string(i));
      if (!f) break;
      files_.push_back(filler / std::to_string(i));
    }
    for (std::size_t i = 0; i < keep_free && !files_.empty(); ++i) {
      fs::remove(files_.back());
      files_.pop_back();
    }
  }
  void free_all() {
    for (const auto& f : files_) fs::remove(f);
    files_.clear();
  }

 private:
  fs::path dir_, log_;
  bool mounted_ = false;
  std::vector<fs::path> files_;
};

std::size_t count_occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The StudyInstanceUID of a DICOM file, as dcmdump reads it.
std::string study_uid_of(const fs::path& file) {
  const auto dump = run_command("dcmdump -q -s +P StudyInstanceUID " + file.string());
  const auto open = dump.output.find('['), close = dump.output.find(']');
  if (open == std::string::npos || close == std::string::npos) return {};
  return dump.output.substr(open + 1, close - open - 1);
}

// Sends the files of `series` with storescu in verbose mode, which prints each response: its
// output, and how many instances the node acknowledged.
struct Sent {
  std::string output;
  std::size_t acknowledged = 0;
};
Sent send_counting_acknowledged(const NodeProcess& node, const fs::path& series) {
  Sent sent;
  sent.output = run_command("TCP_NODELAY=1 storescu -v -aet STORESCU " + node.peer() + " +sd " +
                            series.string())
                    .output;
  sent.acknowledged = count_occurrences(sent.output, "Received Store Response (Success)");
  return sent;
}

}  // namespace

// The disk fills while a study arrives (here: 6 inodes left for new files;
// storage.min_free_disk_mb does not see it). An instance is acknowledged on the strength of its
// journal record only while the disk can hold its spool file beside those still to be written
// (and their folders); the others are refused (A700), however far behind the spool writes are,
// and /readyz says why. Once space is freed the node takes instances again, and every
// acknowledged one is in the spool and the state store.
TEST_F(ServeRobustness, AFullDiskRefusesInsteadOfAcknowledging) {
  const fs::path disk = dir_ / "disk";
  SmallDisk small(disk, disk / "node" / "serve.log");
  if (!small.mounted()) GTEST_SKIP() << "needs root to mount a small tmpfs";
  NodeProcess node(disk / "node", "",
                   "routing:\n  rules:\n    - name: keep\n      action: ignore\n");
  node.start();
  small.fill(6);
  const Sent sent = send_counting_acknowledged(node, study_dicom() / "arterial");
  // Two of the six inodes go to the study's and the series' folders.
  EXPECT_LE(sent.acknowledged, 4u) << sent.output;
  EXPECT_NE(sent.output.find("Refused: OutOfResources"), std::string::npos) << sent.output;
  EXPECT_EQ(node.status_of("/readyz"), 503);
  EXPECT_NE(run_command("curl -s " + node.url("/readyz")).output.find("spool=0"),
            std::string::npos);
  EXPECT_NE(node.log().find("free inode(s) for the"), std::string::npos) << node.log();

  small.free_all();
  const auto again = send_with_storescu(node, study_dicom() / "arterial");
  EXPECT_EQ(again.status, 0) << again.output;
  ASSERT_TRUE(eventually([&] { return node.status_of("/readyz") == 200; }, 30)) << node.log();
  ASSERT_TRUE(eventually([&] { return count_files(node.spool(), ".dcm") == 24u; }, 30))
      << node.log();
  {
    node::SqliteStateStore store(node.state_db());
    EXPECT_TRUE(eventually([&] { return store.counts().instances == 24; }, 30));
  }
  EXPECT_EQ(node.stop(), 0) << node.log();
}

// Restarted on a full disk with instances in its ingest journal that are not in the spool (their
// spool files could not be written: here a file stands where the study's folder goes), the node
// cannot restore them: it starts anyway, answers /healthz, refuses associations (rejected
// transient) and keeps the journal; once the disk has room it completes the recovery by itself,
// and every acknowledged instance is in the spool and the state store.
TEST_F(ServeRobustness, ANodeRestartedOnAFullDiskStartsAndRecoversOnceThereIsRoom) {
  const fs::path disk = dir_ / "disk";
  SmallDisk small(disk, disk / "node" / "serve.log");
  if (!small.mounted()) GTEST_SKIP() << "needs root to mount a small tmpfs";
  NodeProcess node(disk / "node", "",
                   "routing:\n  rules:\n    - name: keep\n      action: ignore\n");
  node.start();
  const fs::path series = study_dicom() / "arterial";
  fs::path first;
  for (const auto& e : fs::directory_iterator(series))
    if (e.is_regular_file()) first = e.path();
  const fs::path in_the_way = node.spool() / study_uid_of(first);
  fs::create_directories(node.spool());
  std::ofstream(in_the_way) << "not a folder";
  const Sent sent = send_counting_acknowledged(node, series);
  const std::size_t acknowledged = sent.acknowledged;
  ASSERT_GE(acknowledged, 1u) << sent.output << node.log();
  EXPECT_LT(acknowledged, 24u) << sent.output;
  EXPECT_EQ(node.stop(), 0) << node.log();

  // Room for the start-up checks' probe files, not for the study's folders and a spool file.
  fs::remove(in_the_way);
  small.fill(2);
  node.start("/healthz");
  const auto readyz = run_command("curl -s " + node.url("/readyz")).output;
  EXPECT_NE(readyz.find("recovered=0"), std::string::npos) << readyz << node.log();
  const auto refused = run_command("echoscu -aet STORESCU " + node.peer());
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("Temporary Congestion"), std::string::npos) << refused.output;

  small.free_all();
  ASSERT_TRUE(eventually([&] { return node.status_of("/readyz") == 200; }, 30)) << node.log();
  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0);
  EXPECT_EQ(count_files(node.spool(), ".dcm"), acknowledged) << node.log();
  {
    node::SqliteStateStore store(node.state_db());
    EXPECT_EQ(store.counts().instances, static_cast<std::int64_t>(acknowledged));
  }
  EXPECT_NE(node.log().find("event=recovery_complete"), std::string::npos);
  EXPECT_EQ(node.stop(), 0) << node.log();
}

}  // namespace livernode::test
