// Follow-up against an earlier summary.json: dates, degree of hypertrophy, kinetic growth rate,
// lesions matched by position, RECIST sum (two phantom studies a few weeks apart:
// tests/integration/test_follow_up_phantom.cpp).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/study/follow_up.h"
#include "test_support.h"

using namespace livernode;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json lesion(int number, double x, double longest, double volume) {
  return {{"number", number},
          {"volume_ml", volume},
          {"longest_diameter_mm", longest},
          {"measurable_recist", longest >= 10.0},
          {"centroid_lps_mm", {x, 0.0, 0.0}}};
}

json analysis(const std::string& date, double liver, double flr, std::optional<double> sflr,
              double functional_share, json lesions) {
  json resection = {{"key", "left_trisectionectomy"},
                    {"name", "left trisectionectomy"},
                    {"segments_remaining", "I, VI-VII"},
                    {"flr_ml", flr},
                    {"flr_percent_of_eslv", sflr ? json(*sflr) : json(nullptr)},
                    {"flr_percent_of_functional_liver", functional_share}};
  return {{"study_date", date},
          {"volumetry", {{"liver_ml", liver}, {"functional_ml", liver - 50.0}}},
          {"surgical_plan", {{"resections", json::array({resection})}}},
          {"lesions", std::move(lesions)}};
}

}  // namespace

TEST(FollowUp, DaysBetweenDicomDates) {
  EXPECT_EQ(study::days_between("20261101", "20261122"), 21);
  EXPECT_EQ(study::days_between("20240228", "20240301"), 2);  // leap year
  EXPECT_EQ(study::days_between("20231231", "20240101"), 1);
  EXPECT_FALSE(study::days_between("2026-11-01", "20261122"));
  EXPECT_FALSE(study::days_between("", "20261122"));
}

// The ALPPS course of CLINICAL.md: FLR 328 -> 504 mL, FLR/ESLV 24 -> 38 % in 14 days:
// degree of hypertrophy 14 points, kinetic growth rate 14 / 2 = 7 points per week.
TEST(FollowUp, HypertrophyGrowthRateLesionsAndRecist) {
  const json before =
      analysis("20260101", 1500, 328, 24.0, 22.6,
               {lesion(1, 0, 60, 80), lesion(2, 100, 30, 10), lesion(3, -100, 12, 1)});
  // Lesion 1 moved 5 mm and shrank to 48 mm, lesion 2 grew to 33 mm, lesion 3 is gone, a new
  // lesion appeared far from all of them.
  const json after =
      analysis("20260115", 1600, 504, 38.0, 32.5,
               {lesion(1, 105, 33, 12), lesion(2, 5, 48, 50), lesion(3, 300, 15, 2)});
  const json f = study::compare_with_prior(after, before, "prior/summary.json");
  EXPECT_EQ(f["interval_days"].get<long>(), 14);
  EXPECT_DOUBLE_EQ(f["interval_weeks"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(f["total_liver_ml"]["change"].get<double>(), 100.0);
  ASSERT_EQ(f["remnants"].size(), 1u);
  const auto& r = f["remnants"][0];
  EXPECT_EQ(r["basis"], "FLR / ESLV");
  EXPECT_DOUBLE_EQ(r["flr_ml"]["change"].get<double>(), 176.0);
  EXPECT_DOUBLE_EQ(r["degree_of_hypertrophy_points"].get<double>(), 14.0);
  EXPECT_DOUBLE_EQ(r["kinetic_growth_rate_points_per_week"].get<double>(), 7.0);
  // Matching by position, not by number.
  const auto& m = f["lesions"]["matched"];
  ASSERT_EQ(m.size(), 2u);
  for (const auto& pair : m) {
    if (pair["number_before"] == 1) {
      EXPECT_EQ(pair["number_after"], 2);
    } else {
      EXPECT_EQ(pair["number_before"], 2);
      EXPECT_EQ(pair["number_after"], 1);
    }
  }
  EXPECT_EQ(f["lesions"]["not_found_again"], json::array({3}));
  EXPECT_EQ(f["lesions"]["new"], json::array({3}));
  // Targets: the two largest measurable lesions before (60 + 30 = 90 mm) -> 48 + 33 = 81 mm.
  EXPECT_DOUBLE_EQ(f["recist"]["sum_before_mm"].get<double>(), 90.0);
  EXPECT_DOUBLE_EQ(f["recist"]["sum_after_mm"].get<double>(), 81.0);
  EXPECT_DOUBLE_EQ(f["recist"]["change_percent"].get<double>(), -10.0);
  EXPECT_EQ(f["recist"]["new_lesions"].get<int>(), 1);
}

// The second visit lies elsewhere on the table: 40 mm further along it and 25 mm to the left.
// Its lesions are the first visit's, moved the same way. The landmarks (IVC axis, liver dome)
// give that shift, so each lesion is found again at 0 mm; without landmarks they are too far
// apart to be the same.
TEST(FollowUp, LesionsAreMatchedAfterAligningTheLandmarks) {
  auto with_landmarks = [](json a, double x, double y, double dome) {
    a["landmarks"] = {{"ivc_axis_lps_mm", {x, y, 0.0}}, {"liver_dome_z_mm", dome}};
    return a;
  };
  const json before =
      analysis("20260101", 1500, 328, 24.0, 22.6, {lesion(1, 0, 30, 10), lesion(2, 60, 25, 6)});
  json moved = json::array();
  for (const auto& l : before["lesions"]) {
    json m = l;
    m["centroid_lps_mm"] = {l["centroid_lps_mm"][0].get<double>() + 25.0, 0.0, 40.0};
    moved.push_back(m);
  }
  const json after = analysis("20260115", 1600, 504, 38.0, 32.5, moved);
  const json aligned = study::compare_with_prior(with_landmarks(after, -15.0, 10.0, 140.0),
                                                 with_landmarks(before, -40.0, 10.0, 100.0), "p");
  EXPECT_EQ(aligned["alignment"]["shift_mm"], json::array({25.0, 0.0, 40.0}));
  ASSERT_EQ(aligned["lesions"]["matched"].size(), 2u);
  for (const auto& pair : aligned["lesions"]["matched"]) {
    EXPECT_EQ(pair["number_before"], pair["number_after"]);
    EXPECT_NEAR(pair["distance_mm"].get<double>(), 0.0, 1e-9);
  }
  const json unaligned = study::compare_with_prior(after, before, "p");
  EXPECT_NE(unaligned["alignment"]["landmarks"].get<std::string>().find("none"), std::string::npos);
  EXPECT_TRUE(unaligned["lesions"]["matched"].empty());
  EXPECT_EQ(unaligned["lesions"]["new"].size(), 2u);
}

TEST(FollowUp, WithoutEslvInEitherStudyTheFunctionalShareIsCompared) {
  const json before = analysis("20260101", 1500, 328, std::nullopt, 22.0, json::array());
  const json after = analysis("20260129", 1600, 504, 38.0, 32.5, json::array());
  const json f = study::compare_with_prior(after, before, "p");
  const auto& r = f["remnants"][0];
  EXPECT_EQ(r["basis"], "FLR / (total liver volume - tumour volume)");
  EXPECT_DOUBLE_EQ(r["degree_of_hypertrophy_points"].get<double>(), 10.5);
  EXPECT_DOUBLE_EQ(r["kinetic_growth_rate_points_per_week"].get<double>(), 2.625);
}

namespace {

// A summary.json with one analysed liver of `study` on `date` in frame of reference `frame`.
fs::path write_summary(const fs::path& dir, const std::string& study, const std::string& date,
                       const std::string& frame) {
  fs::create_directories(dir);
  json a = analysis(date, 1500, 400, 30.0, 28.0, json::array());
  a["liver"] = {{"volume_ml", 1500}};
  a["frame_of_reference_uid"] = frame;
  a["study_instance_uids"] = {study};
  std::ofstream(dir / "summary.json") << json{{"analyses", json::array({a})}}.dump();
  return dir / "summary.json";
}

}  // namespace

// The node compares with the most recent earlier visit: not a later study, not another phase of
// the same examination filed as its own study, not the study itself.
TEST(FollowUp, ThePriorIsTheMostRecentEarlierVisit) {
  const fs::path dir = test::make_temp_dir("livernode-prior");
  std::vector<study::PriorCandidate> c = {
      {5, "1.5", write_summary(dir / "later", "1.5", "20261201", "9.5"), false},
      {4, "1.4", write_summary(dir / "phase", "1.4", "20261122", "9.9"), false},
      {3, "1.3", write_summary(dir / "b", "1.3", "20261101", "9.3"), false},
      {2, "1.2", write_summary(dir / "a", "1.2", "20261001", "9.2"), false},
      {1, "1.9", write_summary(dir / "self", "1.9", "20261001", "9.1"), false},
  };
  auto choice = study::choose_prior(c, "1.9", "20261122", "9.9");
  EXPECT_EQ(choice.study_uid, "1.3");
  EXPECT_EQ(choice.job_id, 3);
  EXPECT_EQ(choice.summary, dir / "b" / "summary.json");
  EXPECT_TRUE(choice.unavailable_reason.empty());
  // Same day, other examination (another frame of reference): a valid prior.
  c.push_back({6, "1.6", write_summary(dir / "same-day", "1.6", "20261122", "9.6"), false});
  EXPECT_EQ(study::choose_prior(c, "1.9", "20261122", "9.9").study_uid, "1.6");
  // Only later studies and other phases: nothing to compare with, and nothing to explain.
  choice = study::choose_prior({c[0], c[1]}, "1.9", "20261122", "9.9");
  EXPECT_TRUE(choice.summary.empty());
  EXPECT_TRUE(choice.unavailable_reason.empty());
  fs::remove_all(dir);
}

TEST(FollowUp, PurgedOrUnreadableEarlierResultsAreExplained) {
  const fs::path dir = test::make_temp_dir("livernode-prior");
  fs::create_directories(dir / "bad");
  std::ofstream(dir / "bad" / "summary.json") << "{ not json";
  const std::vector<study::PriorCandidate> c = {
      {7, "1.7", dir / "gone" / "summary.json", true},
      {6, "1.6", dir / "bad" / "summary.json", false},
      {5, "1.5", dir / "missing" / "summary.json", false},
  };
  const auto choice = study::choose_prior(c, "1.9", "20261122", "9.9");
  EXPECT_TRUE(choice.summary.empty());
  const std::string& why = choice.unavailable_reason;
  EXPECT_NE(why.find("study 1.7 (job 7) were purged by retention"), std::string::npos) << why;
  EXPECT_NE(why.find("study 1.6 (job 6) are unreadable"), std::string::npos) << why;
  EXPECT_NE(why.find("study 1.5 (job 5) are missing"), std::string::npos) << why;
  // A usable one among them wins and nothing is explained.
  std::vector<study::PriorCandidate> with_good = c;
  with_good.push_back({4, "1.4", write_summary(dir / "good", "1.4", "20261001", "9.4"), false});
  const auto good = study::choose_prior(with_good, "1.9", "20261122", "9.9");
  EXPECT_EQ(good.study_uid, "1.4");
  EXPECT_TRUE(good.unavailable_reason.empty());
  fs::remove_all(dir);
}

// The state store links studies by PatientID, keeps the link after a purge, and gives the
// newest done job of each other study of the patient.
TEST(FollowUp, StateStoreFindsTheOtherStudiesOfThePatient) {
  const fs::path dir = test::make_temp_dir("livernode-prior-store");
  node::SqliteStateStore store(dir / "state.db");
  int sop = 0;
  auto receive = [&](const std::string& study, const std::string& patient) {
    node::InstanceRecord r;
    r.sop_instance_uid = "2.25." + std::to_string(++sop);
    r.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    r.study_uid = study;
    r.series_uid = study + ".1";
    r.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    r.path = "/x";
    r.patient_id = patient;
    r.action = node::SeriesAction::analyse;
    r.received_at = 1;
    ASSERT_TRUE(store.record_instance(r));
  };
  auto run_job = [&](const std::string& study, node::JobState state, double now) {
    store.create_job(study, now);
    const auto job = store.claim_next_job(now);
    ASSERT_TRUE(job);
    store.finish_job(job->id, state, "", "/results/" + study + "/v" + std::to_string(job->version),
                     1, now);
  };
  receive("1.1", "P1");
  receive("1.2", "P1");
  receive("1.3", "P1");
  receive("1.4", "P2");
  receive("1.5", "P1");
  run_job("1.1", node::JobState::done, 10);
  run_job("1.1", node::JobState::done, 11);  // a second version: only the newest counts
  run_job("1.2", node::JobState::done, 12);
  run_job("1.3", node::JobState::failed, 13);
  run_job("1.4", node::JobState::done, 14);
  store.purge_study("1.2", 20);
  const auto jobs = store.analyses_of_same_patient("1.5");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].study_uid, "1.2");
  EXPECT_EQ(jobs[1].study_uid, "1.1");
  EXPECT_EQ(jobs[1].version, 2);
  EXPECT_EQ(store.study("1.2")->state, node::StudyState::purged);
  EXPECT_TRUE(store.analyses_of_same_patient("1.4").empty());
  fs::remove_all(dir);
}
