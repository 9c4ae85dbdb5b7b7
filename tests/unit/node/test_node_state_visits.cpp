// Visits in the state store: studies of one patient and acquisition, filed under several
// StudyInstanceUIDs, share one lead study, its job versions and its states.
#include <gtest/gtest.h>

#include "livernode/node/ingest/routing.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/node/workflow/visits.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using namespace livernode::node;
using study::same_visit;
using study::VisitFacts;

TEST(NodeStateVisits, SameFrameOrSameHourOfOneDayIsOneVisitOtherDaysAreNot) {
  VisitFacts arterial{"1.1", {"9.1"}, {"20240102"}, {36000}};
  VisitFacts equilibrium{"1.2", {"9.1"}, {"20240102"}, {36150}};
  EXPECT_TRUE(same_visit(arterial, equilibrium));
  VisitFacts repositioned{"1.3", {"9.2"}, {"20240102"}, {37000}};
  EXPECT_TRUE(same_visit(arterial, repositioned)) << "another frame, minutes later";
  VisitFacts afternoon{"1.4", {"9.3"}, {"20240102"}, {36000 + 5 * 3600}};
  EXPECT_FALSE(same_visit(arterial, afternoon)) << "another frame, hours later";
  VisitFacts next_week{"1.5", {"9.4"}, {"20240109"}, {36000}};
  EXPECT_FALSE(same_visit(arterial, next_week));
  VisitFacts no_facts{"1.6", {}, {}, {}};
  EXPECT_FALSE(same_visit(arterial, no_facts));
  // Times as DICOM writes them.
  std::vector<SeriesRow> rows(2);
  rows[0].frame_of_reference_uid = "9.1";
  rows[0].study_date = "20240102";
  rows[0].acquisition_time = "100000.123";
  rows[1].frame_of_reference_uid = "9.9";
  rows[1].action = SeriesAction::derived;  // our own result: says nothing about the acquisition
  const auto f = visit_facts_of("1.1", rows);
  EXPECT_EQ(f.frames_of_reference, std::vector<std::string>{"9.1"});
  ASSERT_EQ(f.acquisition_seconds.size(), 1u);
  EXPECT_NEAR(f.acquisition_seconds[0], 36000.123, 1e-6);
}

}  // namespace livernode::test
