// One examination filed by the archive under several StudyInstanceUIDs (one per contrast phase,
// one patient and frame of reference) gets one answer from `livernode serve`: the same analysis
// `livernode analyze` makes of the folder, in one job of the visit, with its results filed in the
// study of the reference series. Real storescu, real serve process, real Orthanc as the PACS.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/phantom/phantom.h"
#include "node_process.h"
#include "orthanc_peer.h"
#include "serve_test_support.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  return json::parse(in);
}

// `livernode analyze DIR --out OUT`; its summary.json.
json analyze_folder(const fs::path& dir, const fs::path& out) {
  const auto r = run_command(std::string(LIVERNODE_BINARY) + " analyze " + dir.string() +
                             " --out " + out.string() + " 2>&1");
  if (r.status != 0)
    throw std::runtime_error("livernode analyze failed (" + std::to_string(r.status) + "):\n" +
                             r.output);
  return read_json(out / "summary.json");
}

// Where two answers differ: numbers beyond `tolerance` (relative, at least 0.05 absolute),
// other values when not equal; one line per difference, with the JSON path.
void compare_answers(const json& a, const json& b, double tolerance, const std::string& path,
                     std::vector<std::string>& differences) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    if (std::abs(x - y) > std::max(0.05, tolerance * std::max(std::abs(x), std::abs(y))))
      differences.push_back(path + ": " + a.dump() + " vs " + b.dump());
    return;
  }
  if (a.type() != b.type()) {
    differences.push_back(path + ": " + a.dump() + " vs " + b.dump());
    return;
  }
  if (a.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) {
        differences.push_back(path + "/" + key + ": missing");
        continue;
      }
      // Timings and local paths are not part of the answer.
      if (key == "seconds" || key == "path") continue;
      compare_answers(value, b.at(key), tolerance, path + "/" + key, differences);
    }
    for (const auto& [key, value] : b.items())
      if (!a.contains(key)) differences.push_back(path + "/" + key + ": extra");
    return;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      differences.push_back(path + ": " + std::to_string(a.size()) + " vs " +
                            std::to_string(b.size()) + " items");
      return;
    }
    for (std::size_t i = 0; i < a.size(); ++i)
      compare_answers(a[i], b[i], tolerance, path + "/" + std::to_string(i), differences);
    return;
  }
  if (a != b) differences.push_back(path + ": " + a.dump() + " vs " + b.dump());
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The one analysis of a summary.json (every series of the folder in it).
const json& only_analysis(const json& summary) {
  if (summary.at("analyses").size() != 1)
    throw std::runtime_error("expected one analysis, summary holds " +
                             std::to_string(summary.at("analyses").size()));
  return summary.at("analyses").at(0);
}

std::set<std::string> series_uids_of(const json& analysis) {
  std::set<std::string> out;
  for (const auto& s : analysis.at("series"))
    out.insert(s.at("series_instance_uid").get<std::string>());
  return out;
}

std::string study_of_file(const fs::path& file) {
  DcmFileFormat ff;
  if (ff.loadFile(OFFilename(file.c_str())).bad()) return "";
  OFString uid;
  ff.getDataset()->findAndGetOFString(DCM_StudyInstanceUID, uid);
  return uid.c_str();
}

// Every job of the node, oldest first.
std::vector<node::JobRow> all_jobs(node::StateStore& store) {
  auto jobs = store.jobs("", 1000);
  std::reverse(jobs.begin(), jobs.end());
  return jobs;
}

// True once the node has `count` jobs and none is queued or running, and no study is waiting
// to become one (receiving); waits up to `seconds`.
bool jobs_settled(node::StateStore& store, std::size_t count, double seconds) {
  return eventually(
      [&] {
        const auto jobs = store.jobs("", 1000);
        if (jobs.size() != count) return false;
        for (const auto& j : jobs)
          if (j.state == node::JobState::queued || j.state == node::JobState::running) return false;
        return store.studies(node::StudyState::receiving, 10).empty();
      },
      seconds, 250);
}

}  // namespace

class ServeVisit : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("livernode-serve-visit"); }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

// Three phases, each under its own StudyInstanceUID: the first two arrive and are analysed
// together as one visit (one job, no job of the second study); the third arrives late and the
// visit is analysed again as version 2 with all three, giving what `analyze` gives for the
// folder; every result is filed in the study of the reference series.
TEST_F(ServeVisit, PhasesFiledAsSeparateStudiesAreAnalysedAsOneVisit) {
  phantom::PhantomOptions o;
  o.seed = 23;
  o.matrix = 128;
  o.pixel_spacing_mm = 3.0;
  o.slice_thickness_mm = 5.0;
  o.phases = {phantom::Phase::kArterial, phantom::Phase::kPortalVenous, phantom::Phase::kDelayed};
  o.study_per_phase = true;
  const fs::path study_dir = dir_ / "phantom";
  const phantom::PhantomTruth truth = phantom::generate_phantom(o, study_dir);
  ASSERT_EQ(truth.series.size(), 3u);
  std::set<std::string> studies;
  for (const auto& s : truth.series) studies.insert(s.study_uid);
  ASSERT_EQ(studies.size(), 3u) << "each phase in its own study";

  const json expected = analyze_folder(study_dir / "dicom", dir_ / "analyze");
  const json& expected_analysis = only_analysis(expected);
  ASSERT_EQ(series_uids_of(expected_analysis).size(), 3u);
  ASSERT_FALSE(expected_analysis.at("liver").is_null());
  ASSERT_GE(expected_analysis.at("lesions").size(), 1u) << expected.dump(1);
  const std::string reference = expected_analysis.at("reference_series_instance_uid");
  std::string reference_study;
  for (const auto& s : truth.series)
    if (s.series_uid == reference) reference_study = s.study_uid;
  ASSERT_FALSE(reference_study.empty());

  auto pacs = OrthancPeer::start(dir_ / "orthanc");
  NodeProcess node(dir_ / "node", "",
                   loopback_destination("orthanc", pacs->ae_title(), pacs->dicom_port()));
  // Two phases sent in one association must become one job: a pause of the transfer on a
  // loaded machine must not pass for the end of the visit.
  node.set_quiet_seconds(3);
  node.start();
  node::SqliteStateStore store(node.state_db());

  // The arterial and portal venous phases (two studies) in one association.
  auto sent = run_command("TCP_NODELAY=1 storescu -aet STORESCU " + node.peer() + " +sd +r " +
                          (study_dir / "dicom" / "arterial").string() + " " +
                          (study_dir / "dicom" / "portal_venous").string() + " 2>&1");
  ASSERT_EQ(sent.status, 0) << sent.output;
  ASSERT_TRUE(jobs_settled(store, 1, 120)) << node.log();
  const auto v1 = all_jobs(store);
  ASSERT_EQ(v1.size(), 1u);
  EXPECT_EQ(v1[0].state, node::JobState::done) << v1[0].error;
  EXPECT_EQ(v1[0].version, 1);
  const json v1_summary = read_json(fs::path(v1[0].result_dir) / "summary.json");
  EXPECT_EQ(series_uids_of(only_analysis(v1_summary)).size(), 2u) << v1_summary.dump(1);
  // Both studies are shown as one visit and follow its job.
  const std::string lead = v1[0].study_uid;
  for (const auto& s : store.studies(std::nullopt, 100)) {
    EXPECT_EQ(s.visit_uid, lead) << s.study_uid;
    EXPECT_EQ(s.state, node::StudyState::done) << s.study_uid;
  }
  EXPECT_EQ(store.studies(std::nullopt, 100).size(), 2u);

  // The delayed phase, a third study of the same visit, arrives late: version 2 of the visit.
  sent = send_with_storescu(node, study_dir / "dicom" / "delayed");
  ASSERT_EQ(sent.status, 0) << sent.output;
  ASSERT_TRUE(jobs_settled(store, 2, 120)) << node.log();
  const auto jobs = all_jobs(store);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].study_uid, lead) << "no job of a study of its own";
  EXPECT_EQ(jobs[1].version, 2);
  ASSERT_EQ(jobs[1].state, node::JobState::done) << jobs[1].error << node.log();
  const auto all_studies = store.studies(std::nullopt, 100);
  EXPECT_EQ(all_studies.size(), 3u);
  for (const auto& s : all_studies) {
    EXPECT_EQ(s.visit_uid, lead) << s.study_uid;
    EXPECT_EQ(s.state, node::StudyState::done) << s.study_uid;
  }
  // The admin API shows the visit and its jobs on every study.
  const json api = json::parse(node.get("/api/studies"));
  ASSERT_EQ(api.size(), 3u);
  for (const auto& s : api) {
    EXPECT_EQ(s.at("visit_study_instance_uid"), lead);
    ASSERT_FALSE(s.at("jobs").empty());
    EXPECT_EQ(s.at("jobs").at(0).at("version"), 2);
  }

  // The answer of version 2 is analyze's answer for the folder.
  const json served = read_json(fs::path(jobs[1].result_dir) / "summary.json");
  const json& analysis = only_analysis(served);
  EXPECT_EQ(series_uids_of(analysis), series_uids_of(expected_analysis));
  EXPECT_EQ(analysis.at("reference_series_instance_uid"), reference);
  EXPECT_NEAR(analysis.at("liver").at("volume_ml").get<double>(),
              expected_analysis.at("liver").at("volume_ml").get<double>(),
              0.005 * expected_analysis.at("liver").at("volume_ml").get<double>());
  EXPECT_EQ(analysis.at("lesions").size(), expected_analysis.at("lesions").size());
  std::vector<std::string> differences;
  for (const char* key : {"volumetry", "couinaud", "surgical_plan"})
    compare_answers(expected_analysis.at(key), analysis.at(key), 0.005, key, differences);
  EXPECT_TRUE(differences.empty()) << joined(differences);

  // Every result object of both versions (the portal venous phase is the reference of both) is
  // filed in the reference series' study, in the results folder and at the PACS.
  std::size_t objects = 0;
  for (const auto& job : jobs)
    for (const auto& e : fs::recursive_directory_iterator(job.result_dir))
      if (e.is_regular_file() && e.path().extension() == ".dcm") {
        ++objects;
        EXPECT_EQ(study_of_file(e.path()), reference_study) << e.path();
      }
  EXPECT_GE(objects, 6u);
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 60))
      << node.log();
  EXPECT_TRUE(store.outbox(node::DeliveryState::dead, 100).empty());
  const auto ids = pacs->instances();
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), jobs[0].objects + jobs[1].objects);
  for (const auto& id : ids)
    EXPECT_EQ(pacs->tags(id).value("StudyInstanceUID", ""), reference_study) << id;
  EXPECT_EQ(node.stop(), 0);
}

// The real case whose two phases carry their own StudyInstanceUIDs (one patient, one frame of
// reference): serve gives analyze's liver volume, lesions and plan.
TEST_F(ServeVisit, RealTwoStudyCaseGetsTheAnswerOfAnalyze) {
  const fs::path ct = shared_data() / "real" / "hcc-tace-1720" / "ct";
  LIVERNODE_REQUIRE_DATA(ct);
  const json expected = analyze_folder(ct, dir_ / "analyze");
  const json& expected_analysis = only_analysis(expected);
  ASSERT_FALSE(expected_analysis.at("liver").is_null());
  ASSERT_EQ(expected_analysis.at("study_instance_uids").size(), 2u);

  NodeProcess node(dir_ / "node");
  node.start();
  node::SqliteStateStore store(node.state_db());
  const auto sent = send_with_storescu(node, ct);
  ASSERT_EQ(sent.status, 0) << sent.output;
  ASSERT_TRUE(jobs_settled(store, 1, 600)) << node.log();
  const auto jobs = all_jobs(store);
  ASSERT_EQ(jobs.size(), 1u) << "one job for the visit, none for the second study";
  ASSERT_EQ(jobs[0].state, node::JobState::done) << jobs[0].error;
  const json served = read_json(fs::path(jobs[0].result_dir) / "summary.json");
  const json& analysis = only_analysis(served);
  EXPECT_EQ(series_uids_of(analysis), series_uids_of(expected_analysis));
  EXPECT_EQ(analysis.at("reference_series_instance_uid"),
            expected_analysis.at("reference_series_instance_uid"));
  const double expected_ml = expected_analysis.at("liver").at("volume_ml");
  const double served_ml = analysis.at("liver").at("volume_ml");
  std::cout << "hcc-tace-1720 liver: serve " << served_ml << " mL, analyze " << expected_ml
            << " mL\n";
  EXPECT_NEAR(served_ml, expected_ml, 0.005 * expected_ml);
  EXPECT_EQ(analysis.at("lesions").size(), expected_analysis.at("lesions").size());
  std::vector<std::string> differences;
  for (const char* key : {"lesions", "volumetry", "couinaud", "surgical_plan"})
    compare_answers(expected_analysis.at(key), analysis.at(key), 0.005, key, differences);
  EXPECT_TRUE(differences.empty()) << joined(differences);
  // The results lie in the study of the reference series, as analyze writes them.
  std::set<std::string> result_studies, expected_studies;
  for (const auto& o : analysis.at("objects"))
    result_studies.insert(
        study_of_file(fs::path(jobs[0].result_dir) / o.at("path").get<std::string>()));
  for (const auto& o : expected_analysis.at("objects"))
    expected_studies.insert(study_of_file(dir_ / "analyze" / o.at("path").get<std::string>()));
  EXPECT_EQ(result_studies.size(), 1u);
  EXPECT_EQ(result_studies, expected_studies);
  for (const auto& s : store.studies(std::nullopt, 10))
    EXPECT_EQ(s.state, node::StudyState::done) << s.study_uid;
  EXPECT_EQ(node.stop(), 0);
}

}  // namespace livernode::test
