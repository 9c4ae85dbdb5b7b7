// Follow-up inside the node, against real peers: two phantom studies of one patient three weeks
// apart, the left lobe grown at the second, sent with storescu; the second study's SR in Orthanc
// compares with the first (degree of hypertrophy and kinetic growth rate of the remnant), the
// first study's SR has no comparison.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "livernode/dicom/result_writers.h"
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

// An SR content tree (Orthanc's simplified tags) as tracking identifier -> code -> numeric
// value for every measurement group, and every text value of the document.
struct SrContent {
  std::map<std::string, std::map<std::string, double>> groups;
  std::vector<std::string> texts;
};

// A string attribute of Orthanc's simplified tags ("" when absent, empty or not a string).
std::string str(const json& item, const char* key) {
  return item.contains(key) && item[key].is_string() ? item[key].get<std::string>() : "";
}

std::string code_of(const json& item) {
  if (!item.contains("ConceptNameCodeSequence") || item["ConceptNameCodeSequence"].empty())
    return "";
  const json& code = item["ConceptNameCodeSequence"][0];
  const std::string value = str(code, "CodeValue");
  return value.empty() ? str(code, "LongCodeValue") : value;  // the product's concepts: their OID
}

void read_items(const json& items, SrContent& out) {
  if (!items.is_array()) return;
  for (const auto& item : items) {
    if (str(item, "ValueType") == "TEXT") out.texts.push_back(str(item, "TextValue"));
    if (str(item, "ValueType") != "CONTAINER" || !item.contains("ContentSequence")) continue;
    const json& children = item["ContentSequence"];
    std::string tracking;
    for (const auto& c : children) {
      if (code_of(c) == "112039") tracking = str(c, "TextValue");
    }
    if (!tracking.empty()) {
      for (const auto& c : children) {
        if (str(c, "ValueType") != "NUM" || !c.contains("MeasuredValueSequence")) continue;
        out.groups[tracking][code_of(c)] =
            std::stod(str(c["MeasuredValueSequence"][0], "NumericValue"));
      }
    }
    read_items(children, out);
  }
}

// The SR of `study_uid` held by the PACS.
std::optional<SrContent> sr_of_study(const OrthancPeer& pacs, const std::string& study_uid) {
  for (const auto& id : pacs.instances()) {
    const json tags = pacs.tags(id);
    if (str(tags, "Modality") != "SR" || str(tags, "StudyInstanceUID") != study_uid) continue;
    SrContent content;
    read_items(tags["ContentSequence"], content);
    return content;
  }
  return std::nullopt;
}

bool all_jobs_done(node::StateStore& store, const std::string& study_uid) {
  const auto jobs = store.jobs(study_uid, 10);
  return !jobs.empty() && jobs[0].state == node::JobState::done;
}

// Two small portal venous phantoms of the same patient, three weeks apart, the left lobe grown by
// half at the second; made once for the suite.
struct TwoVisits {
  fs::path dir;
  phantom::PhantomTruth before, after;
};
TwoVisits* g_visits = nullptr;

class ServeFollowUpFixture : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    g_visits = new TwoVisits;
    g_visits->dir = make_temp_dir("livernode-serve-follow-up-studies");
    phantom::PhantomOptions o = small_portal_venous_phantom(3);
    o.study_date = "20261101";
    g_visits->before = phantom::generate_phantom(o, g_visits->dir / "before");
    o.seed = 4;
    o.study_date = "20261122";
    o.remnant_growth = 1.5;
    g_visits->after = phantom::generate_phantom(o, g_visits->dir / "after");
  }
  static void TearDownTestSuite() {
    fs::remove_all(g_visits->dir);
    delete g_visits;
    g_visits = nullptr;
  }
  void SetUp() override {
    dir_ = make_temp_dir("livernode-serve-follow-up");
    pacs_ = OrthancPeer::start(dir_ / "orthanc");
  }
  void TearDown() override {
    pacs_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // A node that delivers SR, summary images and PDF to the PACS; `storage_extra` goes into its
  // storage section.
  std::unique_ptr<NodeProcess> start_node(const std::string& storage_extra = "") {
    auto node = std::make_unique<NodeProcess>(
        dir_ / "node", "",
        loopback_destination("orthanc", pacs_->ae_title(), pacs_->dicom_port(),
                             "sr, summary, pdf"));
    if (!storage_extra.empty()) {
      std::ifstream in(node->config_path());
      std::string text((std::istreambuf_iterator<char>(in)), {});
      text.replace(text.find("min_free_disk_mb: 1\n"), 20, "min_free_disk_mb: 1\n" + storage_extra);
      std::ofstream(node->config_path()) << text;
    }
    node->start();
    return node;
  }
  OrthancPeer* pacs() { return pacs_.get(); }

 protected:
  fs::path dir_;
  std::unique_ptr<OrthancPeer> pacs_;
};

using ServeFollowUp = ServeFollowUpFixture;

}  // namespace

TEST_F(ServeFollowUp, SecondStudyOfThePatientIsComparedWithTheFirstInTheSr) {
  const auto& before = g_visits->before;
  const auto& after = g_visits->after;
  ASSERT_NE(before.study_uid, after.study_uid);
  ASSERT_NE(before.frame_of_reference_uid, after.frame_of_reference_uid);
  ASSERT_EQ(before.patient_id, after.patient_id);
  const fs::path dir = g_visits->dir;
  auto node_ptr = start_node();
  NodeProcess& node = *node_ptr;
  auto& pacs = pacs_;
  node::SqliteStateStore store(node.state_db());
  auto sent = send_with_storescu(node, dir / "before" / "dicom");
  ASSERT_EQ(sent.status, 0) << sent.output;
  ASSERT_TRUE(eventually([&] { return all_jobs_done(store, before.study_uid); }, 240))
      << node.log();
  sent = send_with_storescu(node, dir / "after" / "dicom");
  ASSERT_EQ(sent.status, 0) << sent.output;
  ASSERT_TRUE(eventually([&] { return all_jobs_done(store, after.study_uid); }, 240)) << node.log();
  ASSERT_TRUE(
      eventually([&] { return store.outbox(node::DeliveryState::pending, 100).empty(); }, 60))
      << node.log();
  const std::string log = node.log();
  const auto first_job = store.jobs(before.study_uid, 10).at(0);
  const auto second_job = store.jobs(after.study_uid, 10).at(0);
  EXPECT_NE(log.find("event=follow_up_prior job=" + std::to_string(second_job.id) +
                     " study=" + after.study_uid + " prior_job=" + std::to_string(first_job.id) +
                     " prior_study=" + before.study_uid),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(before.patient_id), std::string::npos) << "the patient ID is logged";

  // The first study has no earlier one: its SR has no comparison.
  const auto first = sr_of_study(*pacs, before.study_uid);
  ASSERT_TRUE(first);
  for (const auto& [tracking, values] : first->groups) {
    EXPECT_EQ(tracking.find("Follow-up"), std::string::npos) << tracking;
  }
  for (const auto& t : first->texts) EXPECT_EQ(t.find(before.study_uid + " of"), std::string::npos);

  // The second: interval, and the remnant of a right hemihepatectomy (I-IV), the part that grew.
  const auto second = sr_of_study(*pacs, after.study_uid);
  ASSERT_TRUE(second);
  bool names_prior = false;
  for (const auto& t : second->texts) {
    names_prior = names_prior || t == "study " + before.study_uid + " of 20261101, 21 days earlier";
  }
  EXPECT_TRUE(names_prior);
  ASSERT_TRUE(second->groups.count("Follow-up: liver"));
  // The product's concepts by their OID: 32 interval, 38 degree of hypertrophy, 39 kinetic growth
  // rate, 11 future liver remnant, 35 future liver remnant at the prior study.
  const auto product = [](int n) { return dicom::product_concept_oid(n); };
  EXPECT_EQ(second->groups.at("Follow-up: liver").at(product(32)), 21.0);
  ASSERT_TRUE(second->groups.count("Follow-up: FLR right hemihepatectomy"));
  const auto& flr = second->groups.at("Follow-up: FLR right hemihepatectomy");
  const double dh = flr.at(product(38)), kgr = flr.at(product(39));

  // What the truths imply: FLR I-IV before and after over the ESLV of the phantom patient
  // (175 cm, 75 kg; Mosteller BSA, Vauthey ESLV, the default formulas), over three weeks.
  double flr_before = 0, flr_after = 0;
  for (int s = 1; s <= 4; ++s) {
    flr_before += before.couinaud_volumes_ml[s];
    flr_after += after.couinaud_volumes_ml[s];
  }
  const double bsa = std::sqrt(175.0 * 75.0 / 3600.0);
  const double eslv = -794.41 + 1267.28 * bsa;
  const double truth_dh = 100.0 * (flr_after - flr_before) / eslv;
  const double truth_kgr = truth_dh / 3.0;
  std::printf(
      "FLR I-IV truth %.0f -> %.0f mL; degree of hypertrophy truth %.2f, SR %.2f points; "
      "kinetic growth rate truth %.2f, SR %.2f points/week\n",
      flr_before, flr_after, truth_dh, dh, truth_kgr, kgr);
  ASSERT_GT(truth_dh, 2.0);
  EXPECT_NEAR(dh, truth_dh, std::max(0.3 * truth_dh, 1.0));
  EXPECT_NEAR(kgr, truth_kgr, std::max(0.3 * truth_kgr, 0.35));
  // The rate is the degree over the interval in weeks (the SR gives the degree to 0.1 points
  // and the rate to 0.01 points per week).
  EXPECT_NEAR(kgr, dh / 3.0, 0.05 / 3.0 + 0.005 + 1e-9);
  EXPECT_GT(flr.at(product(11)), flr.at(product(35)));  // the remnant grew
  EXPECT_EQ(node.stop(), 0);
}

// With no retention the first study's images and result objects are purged once delivered.
// By default its summary stays (storage.summary_retention_days) and the second study is compared
// with it; without that, the second study is analysed all the same and its SR says why there is
// no comparison. Returns the second study's SR.
std::optional<SrContent> second_visit_after_purge(ServeFollowUpFixture& f,
                                                  const std::string& storage_extra,
                                                  std::string& log, std::int64_t& first_job_id) {
  const auto& before = g_visits->before;
  const auto& after = g_visits->after;
  auto node = f.start_node(storage_extra);
  node::SqliteStateStore store(node->state_db());
  auto sent = send_with_storescu(*node, g_visits->dir / "before" / "dicom");
  EXPECT_EQ(sent.status, 0) << sent.output;
  EXPECT_TRUE(eventually(
      [&] {
        const auto s = store.study(before.study_uid);
        return s && s->state == node::StudyState::purged;
      },
      240))
      << node->log();
  EXPECT_FALSE(fs::exists(node->spool() / before.study_uid));
  sent = send_with_storescu(*node, g_visits->dir / "after" / "dicom");
  EXPECT_EQ(sent.status, 0) << sent.output;
  EXPECT_TRUE(eventually(
      [&] {
        return all_jobs_done(store, after.study_uid) &&
               store.outbox(node::DeliveryState::pending, 100).empty() &&
               sr_of_study(*f.pacs(), after.study_uid).has_value();
      },
      240))
      << node->log();
  first_job_id = store.jobs(before.study_uid, 10).at(0).id;
  log = node->log();
  EXPECT_EQ(node->stop(), 0);
  return sr_of_study(*f.pacs(), after.study_uid);
}

TEST_F(ServeFollowUp, PurgedStudyIsStillComparedThroughItsKeptSummary) {
  std::string log;
  std::int64_t first_job = 0;
  const auto sr = second_visit_after_purge(*this, "  retention_days: 0\n", log, first_job);
  ASSERT_TRUE(sr);
  EXPECT_NE(log.find("event=study_purged study=" + g_visits->before.study_uid +
                     " reason=retention summaries_kept=1"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("event=follow_up_prior job="), std::string::npos) << log;
  EXPECT_TRUE(sr->groups.count("Follow-up: liver"));
  EXPECT_TRUE(sr->groups.count("Follow-up: FLR right hemihepatectomy"));
}

TEST_F(ServeFollowUp, PurgedEarlierResultsAreSaidInsteadOfAComparison) {
  std::string log;
  std::int64_t first_job = 0;
  const auto sr = second_visit_after_purge(
      *this, "  retention_days: 0\n  summary_retention_days: 0\n", log, first_job);
  const std::string why = "the results of study " + g_visits->before.study_uid + " (job " +
                          std::to_string(first_job) + ") were purged by retention";
  EXPECT_NE(log.find("event=follow_up_prior_unavailable"), std::string::npos) << log;
  EXPECT_NE(log.find(why), std::string::npos) << log;
  ASSERT_TRUE(sr);
  bool said = false;
  for (const auto& t : sr->texts)
    said = said || (t.rfind("not made: ", 0) == 0 && t.find(why) != std::string::npos);
  EXPECT_TRUE(said);
  for (const auto& [tracking, values] : sr->groups) {
    EXPECT_EQ(tracking.find("Follow-up"), std::string::npos) << tracking;
  }
}

}  // namespace livernode::test
