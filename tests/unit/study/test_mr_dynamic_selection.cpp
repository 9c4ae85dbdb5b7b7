// The T1 dynamic run of an MR study chosen from the headers (study/mr_triage.h): the T1
// gradient-echo volumes of one grid and protocol, in time order; every other volume said why it
// is not used.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "livernode/study/mr_triage.h"

namespace livernode::test {

namespace {

using study::MrRole;
using study::MrSeriesChoice;

dicom::SeriesInfo t1(const std::string& uid, const std::string& time, const std::string& number,
                     unsigned rows = 256, double tr = 3.9) {
  dicom::SeriesInfo s;
  s.modality = "MR";
  s.series_uid = uid;
  s.acquisition_time = time;
  s.series_number = number;
  s.rows = rows;
  s.columns = 256;
  s.pixel_spacing = {1.4, 1.4};
  s.mr.scanning_sequence = "GR";
  s.mr.repetition_time_ms = tr;
  s.mr.echo_time_ms = 1.9;
  s.mr.flip_angle_deg = 10.0;
  s.mr.scan_options = "FS";
  for (int k = 0; k < 40; ++k) {
    dicom::SliceRef r;
    r.position = {-180.0, -180.0, -100.0 + 3.0 * k};
    s.slices.push_back(r);
  }
  return s;
}

}  // namespace

TEST(MrDynamicSelection, TheT1RunOfOneProtocolInTimeOrderOthersWithTheirReason) {
  std::vector<dicom::SeriesInfo> series;
  series.push_back(t1("portal", "101510", "10"));
  series.push_back(t1("pre", "101400", "8"));
  series.push_back(t1("arterial", "101440", "9"));
  series.push_back(t1("coronal-like", "101700", "12", 320));         // another grid
  series.push_back(t1("other-protocol", "101800", "13", 256, 5.5));  // another TR
  dicom::SeriesInfo t2 = t1("t2", "101000", "4");
  t2.mr.scanning_sequence = "SE";
  t2.mr.repetition_time_ms = 1400.0;
  t2.mr.echo_time_ms = 90.0;
  series.push_back(t2);

  std::vector<MrSeriesChoice> choices;
  for (const auto& s : series) choices.push_back({&s, study::triage_mr_series(s), false, ""});
  ASSERT_EQ(choices[5].triage.role, MrRole::kT2);
  const auto run = study::select_mr_dynamic(choices);
  ASSERT_EQ(run.size(), 3u);
  EXPECT_EQ(choices[run[0]].series->series_uid, "pre");
  EXPECT_EQ(choices[run[1]].series->series_uid, "arterial");
  EXPECT_EQ(choices[run[2]].series->series_uid, "portal");
  for (std::size_t i : run) EXPECT_TRUE(choices[i].used);
  for (std::size_t i : {3u, 4u, 5u}) {
    EXPECT_FALSE(choices[i].used) << choices[i].series->series_uid;
    EXPECT_EQ(choices[i].reason.rfind("not used: ", 0), 0u) << choices[i].reason;
  }
  EXPECT_NE(choices[3].reason.find("another grid or protocol"), std::string::npos);
  EXPECT_NE(choices[5].reason.find("t2"), std::string::npos);
}

// The time points of one multi-temporal series (same series UID, same times missing) are ordered
// by series number, then TemporalPositionIdentifier.
TEST(MrDynamicSelection, TimePointsWithoutTimesFollowTheirTemporalPosition) {
  std::vector<dicom::SeriesInfo> series;
  for (long p : {3L, 1L, 2L}) {
    dicom::SeriesInfo s = t1("dyn", "", "9");
    s.mr.temporal_position = p;
    s.mr.temporal_positions = {1, 2, 3};
    series.push_back(s);
  }
  std::vector<MrSeriesChoice> choices;
  for (const auto& s : series) choices.push_back({&s, study::triage_mr_series(s), false, ""});
  const auto run = study::select_mr_dynamic(choices);
  ASSERT_EQ(run.size(), 3u);
  for (std::size_t n = 0; n < 3; ++n)
    EXPECT_EQ(*choices[run[n]].series->mr.temporal_position, static_cast<long>(n + 1));
}

TEST(MrDynamicSelection, NoT1GradientEchoNoRun) {
  dicom::SeriesInfo t2 = t1("t2", "101000", "4");
  t2.mr.scanning_sequence = "SE";
  t2.mr.echo_time_ms = 90.0;
  t2.mr.repetition_time_ms = 1400.0;
  std::vector<MrSeriesChoice> choices{{&t2, study::triage_mr_series(t2), false, ""}};
  EXPECT_TRUE(study::select_mr_dynamic(choices).empty());
  EXPECT_FALSE(choices[0].used);
  EXPECT_FALSE(choices[0].reason.empty());
}

}  // namespace livernode::test
