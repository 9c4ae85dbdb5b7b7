// `livernode serve` against real peers on loopback: DCMTK's echoscu and storescu as senders,
// Orthanc as the receiving PACS. Each test starts and stops its own node.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
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

// A small two-phase phantom (48 slices of 96x96) and a third phase of the same study.
struct SmallStudy {
  fs::path dir;
  phantom::PhantomTruth truth;
  phantom::PhantomTruth late;  // delayed phase only: a new series of the same study
};

SmallStudy* g_study = nullptr;

phantom::PhantomOptions small_options() { return tiny_two_phase_study(11); }

// Exit status, a newline, then what storescu printed.
std::string storescu(const NodeProcess& node, const fs::path& what,
                     const std::string& aet = "STORESCU") {
  const auto r = send_with_storescu(node, what, aet);
  return std::to_string(r.status) + "\n" + r.output;
}

}  // namespace

class ServeNode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_study = new SmallStudy;
    g_study->dir = make_temp_dir("livernode-serve-study");
    g_study->truth = phantom::generate_phantom(small_options(), g_study->dir / "study");
    auto late = small_options();
    late.phases = {phantom::Phase::kDelayed};
    g_study->late = phantom::generate_phantom(late, g_study->dir / "late");
  }
  static void TearDownTestSuite() {
    fs::remove_all(g_study->dir);
    delete g_study;
    g_study = nullptr;
  }
  void SetUp() override { dir_ = make_temp_dir("livernode-serve"); }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(ServeNode, StoresDurablyOnceRejectsStrangersAndReportsOverHttp) {
  NodeProcess node(dir_ / "node",
                   "  allowed_callers:\n    - ae_title: STORESCU\n    - ae_title: OTHER\n      "
                   "host: 10.0.0.0/8\n",
                   "", "  token: s3cret\n");
  node.start();
  const std::string auth = "-H 'Authorization: Bearer s3cret'";
  // The node runs with glibc's huge pages for its image buffers (set at start-up, see
  // node/huge_pages.h).
  {
    std::ifstream environ("/proc/" + std::to_string(node.pid()) + "/environ", std::ios::binary);
    const std::string env((std::istreambuf_iterator<char>(environ)),
                          std::istreambuf_iterator<char>());
    EXPECT_NE(env.find("glibc.malloc.hugetlb=1"), std::string::npos);
  }

  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0) << node.log();
  // Not in the allow-list, and in it only from another network: both rejected at association time.
  const auto stranger = run_command("echoscu -aet INTRUDER " + node.peer());
  EXPECT_NE(stranger.status, 0);
  EXPECT_NE(stranger.output.find("Calling AE Title Not Recognized"), std::string::npos)
      << stranger.output;
  EXPECT_NE(run_command("echoscu -aet OTHER " + node.peer()).status, 0);
  // Called AE title must be ours.
  EXPECT_NE(run_command("echoscu -aet STORESCU -aec SOMEONE 127.0.0.1 " +
                        std::to_string(node.dicom_port()))
                .status,
            0);

  const std::string first = storescu(node, g_study->dir / "study" / "dicom");
  ASSERT_EQ(first.substr(0, 2), "0\n") << first;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 48u);
  EXPECT_EQ(count_files(node.spool(), ".tmp-"), 0u);
  node::SqliteStateStore store(node.state_db());
  EXPECT_EQ(store.counts().instances, 48);

  // The same files again: answered success, stored once.
  const std::string again = storescu(node, g_study->dir / "study" / "dicom");
  ASSERT_EQ(again.substr(0, 2), "0\n") << again;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 48u);
  EXPECT_EQ(store.counts().instances, 48);

  // Quiet for 1 s: one job, version 1, runs to the end.
  ASSERT_TRUE(single_job_done(store, 60, g_study->truth.study_uid)) << node.log();
  EXPECT_EQ(store.jobs("", 10)[0].version, 1);
  EXPECT_TRUE(fs::exists(fs::path(store.jobs("", 10)[0].result_dir) / "summary.json"));

  // HTTP: probes open, the rest behind the token.
  EXPECT_EQ(node.status_of("/healthz"), 200);
  EXPECT_EQ(node.status_of("/readyz"), 200);
  EXPECT_EQ(node.status_of("/metrics"), 401);
  EXPECT_EQ(node.status_of("/api/studies", "-H 'Authorization: Bearer wrong'"), 401);
  EXPECT_EQ(node.status_of("/api/studies", "-H 'Authorization: Bearer s3cretX'"), 401);
  EXPECT_EQ(node.status_of("/api/studies", "-H 'Authorization: Basic s3cret'"), 401);
  // The scheme is case-insensitive (RFC 9110).
  EXPECT_EQ(node.status_of("/api/studies", "-H 'Authorization: bearer s3cret'"), 200);
  EXPECT_EQ(node.status_of("/api/studies", "-H 'Authorization: BEARER  s3cret'"), 200);
  const std::string metrics = node.get("/metrics", auth);
  EXPECT_NE(metrics.find("livernode_instances_received_total 48"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("livernode_instances_duplicate_total 48"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("livernode_associations_rejected_total 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("livernode_jobs{state=\"done\"} 1"), std::string::npos) << metrics;
  // Each new instance was made durable once: by the ingest journal or, when it had no segment
  // ready yet, by fsyncing its file.
  auto counter = [&](const std::string& name) {
    const auto at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1L : std::stol(metrics.substr(at + name.size() + 2));
  };
  EXPECT_EQ(counter("livernode_ingest_journal_records_total") +
                counter("livernode_ingest_journal_fallbacks_total"),
            48)
      << metrics;
  EXPECT_EQ(counter("livernode_ingest_journal_segments_kept"), 0) << metrics;
  // Every journal record was flushed before its answer; a flush may cover several records.
  const long records = counter("livernode_ingest_journal_records_total");
  const long flushes = counter("livernode_ingest_journal_flushes_total");
  EXPECT_LE(flushes, records) << metrics;
  EXPECT_GE(flushes, records > 0 ? 1 : 0) << metrics;
  const auto studies = nlohmann::json::parse(node.get("/api/studies", auth));
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0]["study_instance_uid"], g_study->truth.study_uid);
  EXPECT_EQ(studies[0]["instances"], 48);
  EXPECT_EQ(studies[0]["series"].size(), 2u);
  EXPECT_EQ(studies[0]["series"][0]["action"], "analyse");
  const auto jobs = nlohmann::json::parse(node.get("/api/jobs", auth));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["state"], "done");

  // A series arriving after the analysis: a second version, not a duplicate of the first.
  const std::string late = storescu(node, g_study->dir / "late" / "dicom");
  ASSERT_EQ(late.substr(0, 2), "0\n") << late;
  ASSERT_TRUE(jobs_reach(store, 2, {node::JobState::done}, 60, g_study->truth.study_uid))
      << node.log();
  EXPECT_EQ(store.jobs("", 10)[0].version, 2);
  EXPECT_EQ(store.counts().instances, 72);

  EXPECT_EQ(node.stop(), 0);
  const std::string log = node.log();
  EXPECT_NE(log.find("event=association_rejected calling_ae=INTRUDER"), std::string::npos);
  EXPECT_NE(log.find("event=node_stopped"), std::string::npos);
  // Patient identifiers stay out of the log at info level.
  EXPECT_EQ(log.find("PHANTOM-0001"), std::string::npos);
}

TEST_F(ServeNode, HostileUidsCannotEscapeTheSpool) {
  NodeProcess node(dir_ / "node");
  node.start();
  // Two files whose UIDs try to climb out of the spool folder.
  const fs::path source =
      *fs::directory_iterator(g_study->dir / "study" / "dicom" / "portal_venous");
  const fs::path hostile = dir_ / "hostile";
  fs::create_directories(hostile);
  const std::string script =
      "import pydicom, sys\n"
      "ds = pydicom.dcmread(sys.argv[1])\n"
      "ds.SOPInstanceUID = '../../../../escaped-sop'\n"
      "ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID\n"
      "ds.save_as(sys.argv[2] + '/a.dcm', write_like_original=False)\n"
      "ds = pydicom.dcmread(sys.argv[1])\n"
      "ds.SOPInstanceUID = '1.2.3.4.5.6.7'\n"
      "ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID\n"
      "ds.StudyInstanceUID = '../../escaped-study'\n"
      "ds.SeriesInstanceUID = '../escaped-series'\n"
      "ds.save_as(sys.argv[2] + '/b.dcm', write_like_original=False)\n";
  const auto made =
      run_python_script(dir_, "make.py", script, source.string() + " " + hostile.string());
  ASSERT_EQ(made.status, 0) << made.output;
  const auto sent_a =
      run_command("storescu -aet STORESCU " + node.peer() + " " + (hostile / "a.dcm").string());
  const auto sent_b =
      run_command("storescu -aet STORESCU " + node.peer() + " " + (hostile / "b.dcm").string());
  const std::string sent_output = sent_a.output + sent_b.output;
  // Nothing written anywhere: not in the spool, not beside it.
  EXPECT_EQ(count_files(dir_, "escaped"), 0u) << sent_output;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 0u);
  node::SqliteStateStore store(node.state_db());
  EXPECT_EQ(store.counts().instances, 0);
  const std::string metrics = node.get("/metrics");
  EXPECT_NE(metrics.find("livernode_instances_failed_total 2"), std::string::npos)
      << metrics << sent_output;
  EXPECT_EQ(node.stop(), 0);
  // Each association's end line counts its refused instance as failed.
  const std::string log = node.log();
  std::size_t ends = 0;
  for (auto at = log.find("event=association_end"); at != std::string::npos;
       at = log.find("event=association_end", at + 1)) {
    ++ends;
    const auto line = log.substr(at, log.find('\n', at) - at);
    EXPECT_NE(line.find("stored=0 duplicates=0 failed=1"), std::string::npos) << line;
  }
  EXPECT_EQ(ends, 2u) << log;
}

// An instance larger than a segment of the ingest journal (here a 4096 x 4096 slice, 32 MiB)
// is streamed into its spool file and fsynced there, and is stored byte for byte like the rest.
TEST_F(ServeNode, AnInstanceTooLargeForTheJournalIsStreamedIntoTheSpool) {
  NodeProcess node(dir_ / "node");
  node.start();
  const fs::path source =
      *fs::directory_iterator(g_study->dir / "study" / "dicom" / "portal_venous");
  const fs::path large = dir_ / "large";
  fs::create_directories(large);
  const std::string script =
      "import pydicom, sys\n"
      "ds = pydicom.dcmread(sys.argv[1])\n"
      "ds.SOPInstanceUID = ds.SOPInstanceUID + '.99'\n"
      "ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID\n"
      "ds.Rows = ds.Columns = 4096\n"
      "ds.PixelData = bytes(range(256)) * (4096 * 4096 * 2 // 256)\n"
      "ds.save_as(sys.argv[2] + '/large.dcm', write_like_original=False)\n"
      "print(ds.SOPInstanceUID)\n";
  const auto made =
      run_python_script(dir_, "make_large.py", script, source.string() + " " + large.string());
  ASSERT_EQ(made.status, 0) << made.output;
  const std::string sop = made.output.substr(0, made.output.find_first_of("\r\n"));
  const auto sent = send_with_storescu(node, large);
  ASSERT_EQ(sent.status, 0) << sent.output;
  node::SqliteStateStore store(node.state_db());
  const auto path = store.instance_path(sop);
  ASSERT_TRUE(path.has_value()) << node.log();
  EXPECT_GT(fs::file_size(*path), 32u << 20);
  // The pixel data arrived unchanged.
  const auto checked = run_command(
      "/usr/bin/python3 -c \"import pydicom, sys; ds = pydicom.dcmread(sys.argv[1]); "
      "sys.exit(0 if ds.PixelData == bytes(range(256)) * (4096 * 4096 * 2 // 256) else 1)\" " +
      *path);
  EXPECT_EQ(checked.status, 0) << checked.output;
  const std::string metrics = node.get("/metrics");
  EXPECT_NE(metrics.find("livernode_instances_received_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("livernode_ingest_journal_records_total 0\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(node.stop(), 0);
}

TEST_F(ServeNode, KillNineThenRestartLosesNothingAndRunsTheJob) {
  NodeProcess node(dir_ / "node");
  node.start();
  const std::string sent = storescu(node, g_study->dir / "study" / "dicom");
  ASSERT_EQ(sent.substr(0, 2), "0\n") << sent;
  node.kill_hard();  // every acknowledged instance must survive this
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 48u);
  {
    node::SqliteStateStore store(node.state_db());
    EXPECT_EQ(store.counts().instances, 48);
  }
  node.start();
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(single_job_done(store, 60)) << node.log();
  EXPECT_EQ(store.counts().instances, 48);
  EXPECT_EQ(node.stop(), 0);
}

TEST_F(ServeNode, DiskFloorRefusesAssociationsSighupReloadsAndParallelSendersAllLand) {
  NodeProcess node(dir_ / "node");
  const auto rewrite = [&](const std::string& from, const std::string& to) {
    std::ifstream in(node.config_path());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    text.replace(text.find(from), from.size(), to);
    std::ofstream(node.config_path()) << text;
  };
  rewrite("min_free_disk_mb: 1\n", "min_free_disk_mb: 100000000\n");
  node.start();
  const auto refused = run_command("echoscu -aet STORESCU " + node.peer());
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("Temporary Congestion"), std::string::npos) << refused.output;
  EXPECT_TRUE(eventually(
      [&] { return node.log().find("below storage.min_free_disk_mb") != std::string::npos; }, 5))
      << node.log();

  rewrite("min_free_disk_mb: 100000000\n", "min_free_disk_mb: 1\n");
  ::kill(node.pid(), SIGHUP);
  ASSERT_TRUE(eventually(
      [&] { return node.log().find("event=config_reloaded") != std::string::npos; }, 10));
  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0) << node.log();

  // Three associations at once, one per series.
  const std::string peer = node.peer();
  const auto parallel = run_command(
      "cd " + g_study->dir.string() +
      " && (for d in study/dicom/arterial study/dicom/portal_venous late/dicom/delayed; do "
      "TCP_NODELAY=1 storescu -aet STORESCU " +
      peer + " +sd $d || echo FAILED & done; wait)");
  EXPECT_EQ(parallel.output.find("FAILED"), std::string::npos) << parallel.output;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 72u) << parallel.output;
  EXPECT_NE(node.get("/metrics").find("livernode_associations_accepted_total 4"),
            std::string::npos);
  EXPECT_EQ(node.stop(), 0);
}

TEST_F(ServeNode, BindAddressIsEnforcedPerAssociationAndJsonLogsParse) {
  NodeProcess node(dir_ / "node", "  bind_address: 127.0.0.2\n", "logging:\n  format: json\n");
  node.start();
  const std::string port = std::to_string(node.dicom_port());
  EXPECT_NE(run_command("echoscu -aet STORESCU -aec LIVERNODE 127.0.0.1 " + port).status, 0);
  EXPECT_EQ(run_command("echoscu -aet STORESCU -aec LIVERNODE 127.0.0.2 " + port).status, 0)
      << node.log();
  EXPECT_EQ(node.stop(), 0);
  std::istringstream lines(node.log());
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const auto j = nlohmann::json::parse(line);  // throws on a malformed line
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("message"));
    ++parsed;
  }
  EXPECT_GE(parsed, 4);
  EXPECT_NE(node.log().find("not on node.bind_address 127.0.0.2"), std::string::npos);
}

TEST_F(ServeNode, UnroutedStudyIsStoredThenDeletedAfterItsRetention) {
  NodeProcess node(
      dir_ / "node", "",
      "routing:\n  rules:\n    - name: mr-only\n      modalities: [MR]\n      action: analyse\n");
  // No unrouted retention: deleted as soon as the study is complete.
  std::ifstream in(node.config_path());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.replace(text.find("min_free_disk_mb: 1\n"), 20,
               "min_free_disk_mb: 1\n  unrouted_retention_hours: 0\n");
  std::ofstream(node.config_path()) << text;
  node.start();
  const std::string sent = storescu(node, g_study->dir / "study" / "dicom" / "arterial");
  ASSERT_EQ(sent.substr(0, 2), "0\n") << sent;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 24u);
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(eventually(
      [&] {
        const auto s = store.study(g_study->truth.study_uid);
        return s && s->state == node::StudyState::purged;
      },
      20))
      << node.log();
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 0u);
  EXPECT_TRUE(store.jobs("", 10).empty());  // never analysed
  EXPECT_NE(node.log().find("event=study_stored"), std::string::npos);
  EXPECT_EQ(node.stop(), 0);
}

// Every transfer syntax a PACS commonly sends arrives and is kept as it came.
TEST_F(ServeNode, AcceptsTheUsualTransferSyntaxesAndSegmentations) {
  const fs::path pydicom = LIVERNODE_PYDICOM_FILES;
  LIVERNODE_REQUIRE_DATA(pydicom / "MR_small_jp2klossless.dcm");
  NodeProcess node(dir_ / "node");
  node.start();
  std::vector<fs::path> sources;
  for (const auto& e : fs::directory_iterator(g_study->dir / "study" / "dicom" / "portal_venous"))
    sources.push_back(e.path());
  std::sort(sources.begin(), sources.end());
  struct Case {
    std::string convert;  // command turning {in} into {out}; empty = send {in} as it is
    std::string propose;  // storescu option
    std::string expected_ts;
  };
  const std::vector<Case> cases = {
      {"dcmconv +te", "-xe", "1.2.840.10008.1.2.1"},
      {"dcmconv +tb", "-xb", "1.2.840.10008.1.2.2"},
      {"dcmconv +ti", "-xi", "1.2.840.10008.1.2"},
      {"dcmconv +td", "-xd", "1.2.840.10008.1.2.1.99"},
      {"dcmcjpeg", "-xs", "1.2.840.10008.1.2.4.70"},
      {"dcmcjpls", "-xt", "1.2.840.10008.1.2.4.80"},
      {"dcmcrle", "-xr", "1.2.840.10008.1.2.5"},
  };
  std::vector<std::pair<std::string, std::string>> expected;  // file name stem -> TS
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const fs::path out = dir_ / ("case" + std::to_string(i) + ".dcm");
    const auto conv =
        run_command(cases[i].convert + " " + sources[i].string() + " " + out.string());
    ASSERT_EQ(conv.status, 0) << cases[i].convert << ": " << conv.output;
    const auto sent = run_command("storescu -R " + cases[i].propose + " -aet STORESCU " +
                                  node.peer() + " " + out.string());
    EXPECT_EQ(sent.status, 0) << cases[i].convert << ": " << sent.output;
    EXPECT_EQ(sent.output.find("Status"), std::string::npos) << sent.output;
    expected.push_back({sources[i].filename().string(), cases[i].expected_ts});
  }
  for (const char* name : {"MR_small_jp2klossless.dcm", "liver_1frame.dcm"}) {
    const auto sent = run_command("storescu -R -xv -aet STORESCU " + node.peer() + " " +
                                  (pydicom / name).string());
    EXPECT_EQ(sent.status, 0) << name << ": " << sent.output;
  }
  node::SqliteStateStore store(node.state_db());
  EXPECT_EQ(store.counts().instances, static_cast<std::int64_t>(cases.size() + 2)) << node.log();
  // What the spool holds says which transfer syntax it came in.
  std::map<std::string, int> by_ts;
  for (const auto& e : fs::recursive_directory_iterator(node.spool())) {
    if (!e.is_regular_file()) continue;
    const auto dump =
        run_command("dcmdump -q -Un +P TransferSyntaxUID +P SOPClassUID " + e.path().string());
    if (dump.output.find("[1.2.840.10008.5.1.4.1.1.66.4]") != std::string::npos) {
      by_ts["seg"]++;
      continue;
    }
    for (const auto& c : cases)
      if (dump.output.find("[" + c.expected_ts + "]") != std::string::npos) by_ts[c.expected_ts]++;
    if (dump.output.find("[1.2.840.10008.1.2.4.90]") != std::string::npos) by_ts["j2k"]++;
  }
  for (const auto& c : cases)
    EXPECT_EQ(by_ts[c.expected_ts], 1) << c.convert << " " << c.expected_ts;
  EXPECT_EQ(by_ts["j2k"], 1);
  EXPECT_EQ(by_ts["seg"], 1);
  EXPECT_EQ(node.stop(), 0);
}

TEST_F(ServeNode, TlsListenerRequiresAClientCertificateSignedByTheTrustedCa) {
  const fs::path tls = dir_ / "tls";
  ASSERT_NO_FATAL_FAILURE(make_test_certificates(tls));
  const std::string t = tls.string();
  NodeProcess node(dir_ / "node",
                   tls_section(t, free_tcp_port(), "    require_client_certificate: true\n"));
  node.start();
  const std::string target = " -aec LIVERNODE 127.0.0.1 " + std::to_string(node.tls_port());
  const std::string client = " +tls " + t + "/client.key " + t + "/client.pem +cf " + t + "/ca.pem";
  EXPECT_EQ(run_command("echoscu -aet STORESCU" + client + target).status, 0) << node.log();
  EXPECT_NE(run_command("echoscu -aet STORESCU +tla +cf " + t + "/ca.pem" + target).status,
            0);                                                        // no certificate
  EXPECT_NE(run_command("echoscu -aet STORESCU" + target).status, 0);  // not TLS
  const auto sent = run_command("TCP_NODELAY=1 storescu -aet STORESCU" + client + " +sd" + target +
                                " " + (g_study->dir / "study" / "dicom" / "arterial").string());
  EXPECT_EQ(sent.status, 0) << sent.output;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 24u);
  // The plain port keeps working beside it.
  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0);
  EXPECT_EQ(node.stop(), 0);
}

TEST_F(ServeNode, TlsOnlyNodeOpensNoPlainPort) {
  const fs::path tls = dir_ / "tls";
  ASSERT_NO_FATAL_FAILURE(make_test_certificates(tls));
  const std::string t = tls.string();
  NodeProcess node(dir_ / "node", tls_section(t, free_tcp_port(), "    only: true\n"));
  node.start();  // ready (/readyz) with the TLS listener alone
  const std::string target = " -aec LIVERNODE 127.0.0.1 " + std::to_string(node.tls_port());
  const std::string client = " +tls " + t + "/client.key " + t + "/client.pem +cf " + t + "/ca.pem";
  EXPECT_EQ(run_command("echoscu -aet STORESCU" + client + target).status, 0) << node.log();
  const auto plain = run_command("echoscu -aet STORESCU " + node.peer());
  EXPECT_NE(plain.status, 0) << plain.output;  // nothing listens on node.port
  EXPECT_NE(node.log().find("tls=yes"), std::string::npos);
  EXPECT_EQ(node.log().find("tls=no"), std::string::npos) << node.log();
  EXPECT_EQ(node.stop(), 0);
}

// The test harness: a node whose ports another program took between their choice and the
// node's start moves to new ports on its first start, and keeps its ports when restarted.
TEST_F(ServeNode, FirstStartMovesToNewPortsWhenItsPortsWereTakenRestartKeepsThem) {
  const fs::path tls = dir_ / "tls";
  ASSERT_NO_FATAL_FAILURE(make_test_certificates(tls));
  const std::string t = tls.string();
  NodeProcess node(dir_ / "node", tls_section(t, free_tcp_port()));
  const int dicom = node.dicom_port(), http = node.http_port(), tls_port = node.tls_port();
  ASSERT_GT(tls_port, 0);
  // Another program listens on the node's DICOM port, then on its TLS port.
  const auto listen_on = [](int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  const int taken_dicom = listen_on(dicom);
  ASSERT_GE(taken_dicom, 0);
  node.start();
  EXPECT_NE(node.dicom_port(), dicom);
  EXPECT_NE(node.http_port(), http);
  EXPECT_NE(node.tls_port(), tls_port);
  EXPECT_NE(node.log().find("Address already in use"), std::string::npos) << node.log();
  // The attempt on the taken port ended as unavailable (69), not as an internal error.
  EXPECT_NE(node.log().find("event=node_failed kind=network"), std::string::npos) << node.log();
  EXPECT_EQ(node.last_start_exit(), 69);
  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0) << node.log();
  const std::string client = " +tls " + t + "/client.key " + t + "/client.pem +cf " + t + "/ca.pem";
  EXPECT_EQ(run_command("echoscu -aet STORESCU" + client + " -aec LIVERNODE 127.0.0.1 " +
                        std::to_string(node.tls_port()))
                .status,
            0)
      << node.log();
  EXPECT_EQ(node.status_of("/healthz"), 200);
  std::ifstream in(node.config_path());
  const std::string config((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(config.find("\n  port: " + std::to_string(node.dicom_port()) + "\n"), std::string::npos)
      << config;
  EXPECT_NE(config.find("\n    port: " + std::to_string(node.tls_port()) + "\n"), std::string::npos)
      << config;
  EXPECT_EQ(node.stop(), 0);
  ::close(taken_dicom);

  // A restart keeps the ports: one of them taken now, the start fails instead of moving.
  const int moved_dicom = node.dicom_port(), moved_tls = node.tls_port();
  const int taken_tls = listen_on(moved_tls);
  ASSERT_GE(taken_tls, 0);
  EXPECT_THROW(node.start(), std::runtime_error);
  EXPECT_EQ(node.dicom_port(), moved_dicom);
  EXPECT_EQ(node.tls_port(), moved_tls);
  ::close(taken_tls);
  node.start();
  EXPECT_EQ(node.dicom_port(), moved_dicom);
  EXPECT_EQ(run_command("echoscu -aet STORESCU " + node.peer()).status, 0) << node.log();
  EXPECT_EQ(node.stop(), 0);
}

TEST_F(ServeNode, AssociationsBeyondTheLimitAreRejectedUntilOneEnds) {
  NodeProcess node(dir_ / "node");
  std::ifstream in(node.config_path());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.replace(text.find("max_associations: 4"), 19, "max_associations: 1");
  std::ofstream(node.config_path()) << text;
  node.start();
  // One long association: many C-ECHOs in a row.
  const auto holder = run_command("echoscu -aet STORESCU --repeat 1000000 " + node.peer() +
                                  " > /dev/null 2>&1 & echo $!");
  const pid_t pid = std::atoi(holder.output.c_str());
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(eventually(
      [&] {
        return node.get("/metrics").find("livernode_associations_accepted_total 1") !=
               std::string::npos;
      },
      10));
  const auto second = run_command("echoscu -aet STORESCU " + node.peer());
  EXPECT_NE(second.status, 0);
  EXPECT_NE(second.output.find("Local Limit Exceeded"), std::string::npos) << second.output;
  // Refused for want of a slot, yet counted and logged with the reason like any rejection.
  EXPECT_NE(node.get("/metrics").find("livernode_associations_rejected_total 1"),
            std::string::npos);
  EXPECT_NE(
      node.log().find("reason=\"no free association slot: 1 of node.max_associations=1 busy\""),
      std::string::npos)
      << node.log();
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(eventually(
      [&] { return run_command("echoscu -aet STORESCU " + node.peer()).status == 0; }, 15))
      << node.log();
  EXPECT_EQ(node.stop(), 0);
}

TEST_F(ServeNode, SigtermLetsTheRunningAssociationFinishItsStores) {
  NodeProcess node(dir_ / "node");
  node.start();
  // Without TCP_NODELAY on the sender each C-STORE waits for a delayed ACK (~40 ms), so the
  // 48 instances take about 2 s: long enough to stop the node in the middle.
  const fs::path out = dir_ / "storescu.out";
  const auto sender =
      run_command("(storescu -aet STORESCU " + node.peer() + " +sd +r " +
                  (g_study->dir / "study" / "dicom").string() + " > " + out.string() +
                  " 2>&1; echo \"exit=$?\" >> " + out.string() + ") > /dev/null 2>&1 & echo $!");
  ASSERT_GT(std::atoi(sender.output.c_str()), 0);
  ASSERT_TRUE(eventually(
      [&] {
        return node.get("/metrics").find("livernode_instances_received_total 0") ==
               std::string::npos;
      },
      10));
  EXPECT_EQ(node.stop(), 0);
  ASSERT_TRUE(eventually(
      [&] {
        std::ifstream in(out);
        return std::string((std::istreambuf_iterator<char>(in)), {}).find("exit=") !=
               std::string::npos;
      },
      20));
  std::ifstream in(out);
  const std::string result((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(result.find("exit=0"), std::string::npos) << result;
  EXPECT_EQ(count_files(node.spool(), ".dcm"), 48u);
  node::SqliteStateStore store(node.state_db());
  EXPECT_EQ(store.counts().instances, 48);
  const std::string log = node.log();
  EXPECT_LT(log.find("event=node_draining"), log.find("event=association_end")) << log;
}

// storescu -> node -> analysis -> outbox -> Orthanc: every result object the analysis wrote
// (SEG, SR, summary images, PDF) arrives in the PACS, in the source study, exactly once.
TEST_F(ServeNode, EndToEndResultsReachOrthanc) {
  auto pacs = OrthancPeer::start(dir_ / "orthanc");
  NodeProcess node(dir_ / "node", "",
                   loopback_destination("orthanc", pacs->ae_title(), pacs->dicom_port()));
  node.start();
  const std::string sent = storescu(node, g_study->dir / "study" / "dicom");
  ASSERT_EQ(sent.substr(0, 2), "0\n") << sent;
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(single_job_done(store, 60)) << node.log();
  const auto job = store.jobs("", 10)[0];
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 30))
      << node.log();
  EXPECT_EQ(static_cast<std::int64_t>(store.outbox(node::DeliveryState::delivered, 100).size()),
            job.objects);
  EXPECT_TRUE(store.outbox(node::DeliveryState::dead, 100).empty());
  const auto ids = pacs->instances();
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), job.objects);
  EXPECT_GE(job.objects, 3);
  std::set<std::string> modalities;
  for (const auto& id : ids) {
    const auto tags = pacs->tags(id);
    modalities.insert(tags.value("Modality", ""));
    EXPECT_EQ(tags.value("StudyInstanceUID", ""), g_study->truth.study_uid);
  }
  EXPECT_TRUE(modalities.count("SEG")) << node.log();
  EXPECT_TRUE(modalities.count("SR")) << node.log();
  const std::string metrics = node.get("/metrics");
  EXPECT_NE(metrics.find("livernode_deliveries_total " + std::to_string(job.objects)),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("livernode_outbox_depth 0"), std::string::npos) << metrics;
  EXPECT_EQ(node.stop(), 0);
}

// An MR liver study through the node: a routing rule that analyses MR, the phantom's MR protocol
// (gadoxetate, the dynamic run in one series) sent with storescu. The job chooses the T1 dynamic
// run, tells its phases, segments the liver and delivers the liver SEG, the SR, the summary pages
// and the PDF to the PACS, in the source's study.
TEST_F(ServeNode, MrStudyResultsReachOrthanc) {
  phantom::PhantomOptions o;
  o.modality = phantom::PhantomModality::kMr;
  o.mr_agent = phantom::MrAgent::kGadoxetate;
  o.seed = 7;
  o.matrix = 144;
  o.pixel_spacing_mm = 2.5;
  o.slice_thickness_mm = 3.0;
  const auto truth = phantom::generate_phantom(o, dir_ / "mr");
  auto pacs = OrthancPeer::start(dir_ / "orthanc");
  // The default routing rule analyses MR as well as CT.
  NodeProcess node(dir_ / "node", "",
                   loopback_destination("orthanc", pacs->ae_title(), pacs->dicom_port()));
  node.start();
  const std::string sent = storescu(node, dir_ / "mr" / "dicom");
  ASSERT_EQ(sent.substr(0, 2), "0\n") << sent;
  node::SqliteStateStore store(node.state_db());
  ASSERT_TRUE(single_job_done(store, 180)) << node.log();
  const auto job = store.jobs("", 10)[0];
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 60))
      << node.log();
  EXPECT_TRUE(store.outbox(node::DeliveryState::dead, 100).empty());
  EXPECT_GE(job.objects, 4);  // SEG, SR, pages, PDF
  const auto ids = pacs->instances();
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), job.objects);
  std::set<std::string> modalities;
  for (const auto& id : ids) {
    const auto tags = pacs->tags(id);
    modalities.insert(tags.value("Modality", ""));
    EXPECT_EQ(tags.value("StudyInstanceUID", ""), truth.study_uid);
  }
  EXPECT_TRUE(modalities.count("SEG")) << node.log();
  EXPECT_TRUE(modalities.count("SR")) << node.log();
  EXPECT_NE(node.log().find("phase=hepatobiliary"), std::string::npos) << node.log();
  EXPECT_EQ(node.stop(), 0);
}

}  // namespace livernode::test
