// The ingest journal: records survive a process that dies without cleaning up, a torn last
// record and the leftovers of a segment's earlier use are ignored, and replay restores missing
// or damaged spool files byte for byte. Concurrent appenders share flushes (group commit), and
// none returns before a flush covering its record.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "livernode/node/ingest/ingest_journal.h"
#include "livernode/node/ingest/spool.h"
#include "test_support.h"

namespace fs = std::filesystem;
using livernode::node::IngestJournal;
using livernode::node::JournalOptions;
using livernode::node::replay_journal;
using livernode::node::Spool;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Deterministic contents of a few kB that differ per instance.
std::string contents_for(int i, std::size_t size = 20000) {
  std::string s(size, '\0');
  std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(i) * 7919u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

struct Instance {
  std::string study, series, sop;
};

Instance instance(int i) {
  return {"1.2.826.0.1.3680043.9.7.1", "1.2.826.0.1.3680043.9.7.1.2",
          "1.2.826.0.1.3680043.9.7.1.2." + std::to_string(i + 1)};
}

JournalOptions small_options() {
  JournalOptions o;
  o.segment_bytes = 1u << 20;
  o.segments = 2;
  o.seal_after_seconds = 3600;  // nothing is synced and reused by the clock during a test
  return o;
}

// Appends instance i, waiting for the first segment to be written ahead, then writes its
// spool file without fsync and releases the hold, as the receiving path does.
bool store_and_append(IngestJournal& journal, const Spool& spool, int i, std::size_t size = 20000) {
  const Instance in = instance(i);
  const std::string bytes = contents_for(i, size);
  const fs::path path = spool.instance_path(in.study, in.series, in.sop);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto hold = journal.append(in.study, in.series, in.sop, bytes, path)) {
      EXPECT_EQ(spool.store_unsynced(in.study, in.series, in.sop, bytes), path);
      hold.release();
      return true;
    }
    if (size > small_options().segment_bytes) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Runs `body` in a child process that ends with _exit, as after kill -9. The body leaks its
// journal (new without delete) so that no destructor syncs it.
void in_dying_child(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    body();
    ::_exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed";
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = livernode::test::make_temp_dir("livernode-journal");
    spool_dir = root / "spool";
    journal_dir = spool_dir / ".journal";
    fs::create_directories(spool_dir);
  }
  void TearDown() override { fs::remove_all(root); }
  fs::path instance_file(int i) const {
    const Instance in = instance(i);
    return Spool(spool_dir).instance_path(in.study, in.series, in.sop);
  }
  fs::path root, spool_dir, journal_dir;
};

}  // namespace

TEST(Crc32c, MatchesTheCheckValueOfTheCastagnoliPolynomial) {
  const std::string check = "123456789";
  EXPECT_EQ(livernode::node::crc32c(0, check.data(), check.size()), 0xE3069283u);
  // Chunked the same as in one piece, across the 8-byte steps of the hardware path.
  const std::string data = contents_for(3, 1001);
  const auto whole = livernode::node::crc32c(0, data.data(), data.size());
  auto part = livernode::node::crc32c(0, data.data(), 13);
  part = livernode::node::crc32c(part, data.data() + 13, data.size() - 13);
  EXPECT_EQ(part, whole);
}

TEST_F(JournalTest, ReplayAfterAnUncleanEndRestoresMissingShortAndChangedSpoolFiles) {
  in_dying_child([&] {
    auto* journal = new IngestJournal(journal_dir, small_options());
    Spool spool(spool_dir);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_and_append(*journal, spool, i));
  });
  // What an unsynced spool may look like after a power failure.
  fs::remove(instance_file(0));
  fs::resize_file(instance_file(1), 100);
  {
    std::fstream f(instance_file(2), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('\x5a');
  }
  const auto replay = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_TRUE(replay.problems.empty()) << replay.problems.front();
  EXPECT_EQ(replay.records, 5u);
  EXPECT_EQ(replay.restored, 3u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(read_all(instance_file(i)) == contents_for(i)) << i;
  // Replaying again changes nothing.
  EXPECT_EQ(replay_journal(journal_dir, Spool(spool_dir)).restored, 0u);
}

TEST_F(JournalTest, TornLastRecordIsIgnoredAndTheEarlierOnesKept) {
  in_dying_child([&] {
    auto* journal = new IngestJournal(journal_dir, small_options());
    Spool spool(spool_dir);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_and_append(*journal, spool, i));
  });
  // Damage one byte in the payload of the third record. Records are 4 KiB aligned; each of
  // these takes 40 header bytes, 81 bytes of UIDs and 20000 bytes: 20 KiB.
  const std::size_t record = 20480;
  fs::path segment;
  for (const auto& e : fs::directory_iterator(journal_dir))
    if (fs::file_size(e.path()) == small_options().segment_bytes) {
      std::ifstream in(e.path(), std::ios::binary);
      char magic[4] = {};
      in.read(magic, 4);
      if (std::string(magic, 4) == "LNJR") segment = e.path();
    }
  ASSERT_FALSE(segment.empty()) << "no segment holds records";
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * record + 4000);
    f.put('\x01');
  }
  for (int i = 0; i < 3; ++i) fs::remove(instance_file(i));
  const auto replay = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_EQ(replay.records, 2u);
  EXPECT_EQ(replay.restored, 2u);
  EXPECT_TRUE(read_all(instance_file(1)) == contents_for(1));
  EXPECT_FALSE(fs::exists(instance_file(2)));
}

TEST_F(JournalTest, CleanStopSyncsTheSpoolAndLeavesNothingToReplay) {
  {
    IngestJournal journal(journal_dir, small_options());
    Spool spool(spool_dir);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_and_append(journal, spool, i));
    journal.sync_all();
    EXPECT_GE(journal.stats().segments_synced, 1u);
    EXPECT_EQ(journal.stats().appended, 4u);
  }
  // The records' bytes are still in the reused segment, under an older generation.
  fs::remove(instance_file(0));
  const auto replay = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_EQ(replay.records, 0u);
  EXPECT_FALSE(fs::exists(instance_file(0)));

  // A journal reopened on the same folder reuses the segments and keeps working.
  in_dying_child([&] {
    auto* journal = new IngestJournal(journal_dir, small_options());
    ASSERT_TRUE(store_and_append(*journal, Spool(spool_dir), 7));
  });
  fs::remove(instance_file(7));
  const auto again = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_EQ(again.records, 1u);
  EXPECT_TRUE(read_all(instance_file(7)) == contents_for(7));
}

TEST_F(JournalTest, SegmentsFillAndAreReusedAndARecordTooLargeIsRefused) {
  IngestJournal journal(journal_dir, small_options());
  Spool spool(spool_dir);
  // 100 records of 24 KiB need more than the two 1 MiB segments: full ones are synced and
  // reused while appending goes on.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store_and_append(journal, spool, i)) << i;
  EXPECT_FALSE(store_and_append(journal, spool, 200, 2u << 20));
  journal.sync_all();
  const auto stats = journal.stats();
  EXPECT_EQ(stats.appended, 100u);
  EXPECT_GE(stats.segments_synced, 2u);
  EXPECT_GE(stats.fallbacks, 1u);
  for (int i = 0; i < 100; i += 33) EXPECT_TRUE(read_all(instance_file(i)) == contents_for(i));
}

TEST_F(JournalTest, AHeldSegmentIsNotReusedAndOneKeptForAFailedFileIsReplayedAtTheNextStart) {
  {
    IngestJournal journal(journal_dir, small_options());
    const Instance in = instance(0);
    const std::string bytes = contents_for(0);
    const fs::path path = Spool(spool_dir).instance_path(in.study, in.series, in.sop);
    livernode::node::JournalHold hold;
    for (int tries = 0; !hold && tries < 4000; ++tries) {
      hold = journal.append(in.study, in.series, in.sop, bytes, path);
      if (!hold) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(hold);
    std::thread syncer([&] { journal.sync_all(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(journal.stats().segments_synced, 0u) << "synced while its spool file was unwritten";
    hold.keep();  // the spool file could not be written
    syncer.join();
    EXPECT_EQ(journal.stats().segments_kept, 1u);
  }
  EXPECT_FALSE(fs::exists(instance_file(0)));
  const auto replay = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_EQ(replay.records, 1u);
  EXPECT_EQ(replay.restored, 1u);
  EXPECT_TRUE(read_all(instance_file(0)) == contents_for(0));
}

TEST_F(JournalTest, WaitReadyReturnsOnceEverySegmentIsWrittenAheadAndTheFirstAppendIsJournaled) {
  IngestJournal journal(journal_dir, small_options());
  ASSERT_TRUE(journal.wait_ready(std::chrono::seconds(20)));
  std::size_t full = 0;
  for (const auto& entry : fs::directory_iterator(journal_dir))
    if (entry.path().extension() == ".wal" && fs::file_size(entry.path()) == (1u << 20)) full++;
  EXPECT_EQ(full, 2u);
  // No waiting for a segment: the very first append is a record, not a fallback.
  const Instance in = instance(0);
  const std::string bytes = contents_for(0, 4097);  // pads into a second block
  auto hold = journal.append(in.study, in.series, in.sop, bytes,
                             Spool(spool_dir).instance_path(in.study, in.series, in.sop));
  ASSERT_TRUE(hold);
  hold.keep();
  EXPECT_EQ(journal.stats().fallbacks, 0u);
  const auto replay = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_EQ(replay.records, 1u);
  EXPECT_TRUE(read_all(instance_file(0)) == bytes);
}

TEST_F(JournalTest, ConcurrentAppendersShareOneFlushAndNoneReturnsBeforeIt) {
  constexpr int kAppenders = 8;
  in_dying_child([&] {
    // The first flush is held back until every appender has written its record: they all wait
    // for a flush then, and none may have returned.
    std::atomic<IngestJournal*> journal_ptr{nullptr};
    std::atomic<int> flushes_begun{0}, returned{0}, returned_in_first_flush{-1};
    std::atomic<std::uint64_t> written_in_first_flush{0};
    JournalOptions options = small_options();
    options.before_flush = [&] {
      if (flushes_begun++ != 0) return;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (journal_ptr.load()->stats().written < kAppenders &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      written_in_first_flush = journal_ptr.load()->stats().written;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // time to return too early
      returned_in_first_flush = returned.load();
    };
    auto* journal = new IngestJournal(journal_dir, options);
    journal_ptr = journal;
    ASSERT_TRUE(journal->wait_ready(std::chrono::seconds(20)));
    Spool spool(spool_dir);
    std::vector<livernode::node::JournalHold> holds(kAppenders);
    std::vector<std::thread> appenders;
    for (int i = 0; i < kAppenders; ++i)
      appenders.emplace_back([&, i] {
        const Instance in = instance(i);
        holds[i] = journal->append(in.study, in.series, in.sop, contents_for(i),
                                   spool.instance_path(in.study, in.series, in.sop));
        returned++;
      });
    for (auto& t : appenders) t.join();
    for (const auto& hold : holds) EXPECT_TRUE(hold);
    EXPECT_EQ(written_in_first_flush.load(), std::uint64_t{kAppenders});
    EXPECT_EQ(returned_in_first_flush.load(), 0) << "an append returned before its flush";
    const auto stats = journal->stats();
    EXPECT_EQ(stats.appended, std::uint64_t{kAppenders});
    // The first flush covers the records written when it began, the second all the others.
    EXPECT_GE(stats.flushes, 1u);
    EXPECT_LE(stats.flushes, 2u);
    EXPECT_EQ(flushes_begun.load(), static_cast<int>(stats.flushes));
    // The spool files are never written: the holds keep the records, and the process ends.
  });
  const auto replay = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_TRUE(replay.problems.empty()) << replay.problems.front();
  EXPECT_EQ(replay.records, std::size_t{kAppenders});
  EXPECT_EQ(replay.restored, std::size_t{kAppenders});
  for (int i = 0; i < kAppenders; ++i) EXPECT_TRUE(read_all(instance_file(i)) == contents_for(i));
}

TEST_F(JournalTest, EveryRecordOfConcurrentAppendersAcrossSegmentsIsReplayed) {
  constexpr int kThreads = 4, kEach = 40;
  in_dying_child([&] {
    JournalOptions options = small_options();
    options.segments = 4;  // 4 MiB: room for the 160 records of 20 KiB, 51 per segment
    auto* journal = new IngestJournal(journal_dir, options);
    ASSERT_TRUE(journal->wait_ready(std::chrono::seconds(20)));
    Spool spool(spool_dir);
    std::vector<std::vector<livernode::node::JournalHold>> holds(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int k = 0; k < kEach; ++k) {
          const int i = t * kEach + k;
          const Instance in = instance(i);
          holds[t].push_back(journal->append(in.study, in.series, in.sop, contents_for(i),
                                             spool.instance_path(in.study, in.series, in.sop)));
          EXPECT_TRUE(holds[t].back()) << i;
        }
      });
    for (auto& t : threads) t.join();
    const auto stats = journal->stats();
    EXPECT_EQ(stats.appended, std::uint64_t{kThreads * kEach});
    EXPECT_EQ(stats.fallbacks, 0u);
    EXPECT_LE(stats.flushes, stats.appended);
  });
  const auto replay = replay_journal(journal_dir, Spool(spool_dir));
  EXPECT_TRUE(replay.problems.empty()) << replay.problems.front();
  EXPECT_EQ(replay.records, std::size_t{kThreads * kEach});
  EXPECT_EQ(replay.restored, std::size_t{kThreads * kEach});
  for (int i = 0; i < kThreads * kEach; ++i)
    EXPECT_TRUE(read_all(instance_file(i)) == contents_for(i)) << i;
}

TEST_F(JournalTest, OneAppenderFlushesOncePerRecord) {
  IngestJournal journal(journal_dir, small_options());
  Spool spool(spool_dir);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_and_append(journal, spool, i));
  const auto stats = journal.stats();
  EXPECT_EQ(stats.appended, 5u);
  EXPECT_EQ(stats.written, 5u);
  EXPECT_EQ(stats.flushes, 5u);
}
