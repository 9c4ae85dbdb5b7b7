// The study tracker: a quiet study becomes a job only once every instance the node acknowledged
// for it is recorded.
#include <gtest/gtest.h>

#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/node/workflow/study_tracker.h"
#include "state_store_backends.h"
#include "test_support.h"

namespace livernode::test {

namespace fs = std::filesystem;
using namespace livernode::node;

// An instance acknowledged to its sender but still in its association's indexing queue holds
// its study open however long the study has been quiet: the analysis must not start without it.
TEST(StudyTracker, AQuietStudyWaitsForItsAcknowledgedInstancesStillBeingRecorded) {
  const fs::path dir = make_temp_dir("livernode-tracker");
  config::Config cfg;
  cfg.storage.spool_dir = dir / "spool";
  cfg.storage.results_dir = dir / "results";
  cfg.study_completion.series_quiet_s = 1;
  cfg.study_completion.study_quiet_s = 2;
  cfg.study_completion.max_wait_s = 5;
  auto store = std::make_shared<SqliteStateStore>(dir / "state.sqlite");
  Runtime runtime(std::make_shared<const RuntimeConfig>(cfg), store);
  Wakeup workers;
  StudyTracker tracker(runtime, workers);
  ASSERT_TRUE(store->record_instance(analysed_ct_instance("1.9.1.1", "1.9.1", 1000.0)));
  runtime.in_flight.add("1.9");  // a second instance of the study acknowledged, not yet recorded
  runtime.in_flight.add("1.8");  // and one of another study, which holds only its own
  tracker.tick(1010.0);          // quiet for 10 s, past max_wait_s too
  EXPECT_TRUE(store->jobs("1.9", 10).empty()) << "started without an acknowledged instance";
  runtime.in_flight.done("1.9");
  EXPECT_EQ(runtime.in_flight.of("1.9"), 0u);
  EXPECT_EQ(runtime.in_flight.of("1.8"), 1u);
  tracker.tick(1011.0);
  ASSERT_EQ(store->jobs("1.9", 10).size(), 1u);
  fs::remove_all(dir);
}

}  // namespace livernode::test
