// The ingest journal on its own: T threads append R records of B bytes each (the size of a
// 256 x 256 CT slice by default) into a fresh journal, as T associations would, and the program
// prints appends/s and journal flushes per record for each T. With one thread every record is
// flushed on its own; with several, one flush covers the records of every thread waiting for it.
// The disk's flush time decides how much that matters: compare with bench/ingest.sh's probe.
//
//   livernode_bench_journal [--dir DIR] [--threads 1,2,4,8] [--records N] [--bytes B]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "livernode/node/ingest/ingest_journal.h"

namespace fs = std::filesystem;
using livernode::node::IngestJournal;

int main(int argc, char** argv) {
  fs::path dir =
      fs::temp_directory_path() / ("livernode-bench-journal-" + std::to_string(::getpid()));
  std::vector<int> thread_counts{1, 2, 4, 8};
  int records = 2000;
  std::size_t bytes = 132u << 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--dir") {
      dir = value;
    } else if (key == "--threads") {
      thread_counts.clear();
      std::stringstream list(value);
      for (std::string t; std::getline(list, t, ',');) thread_counts.push_back(std::stoi(t));
    } else if (key == "--records") {
      records = std::stoi(value);
    } else if (key == "--bytes") {
      bytes = std::stoul(value);
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  const std::string payload(bytes, '\x5a');
  std::printf("%d records of %zu bytes per thread count, journal in %s\n", records, bytes,
              dir.c_str());
  std::printf("%8s %12s %18s %10s\n", "threads", "appends/s", "flushes/record", "fallbacks");
  for (const int threads : thread_counts) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    IngestJournal journal(dir);
    if (!journal.wait_ready(std::chrono::seconds(120))) {
      std::fprintf(stderr, "the journal's segments were not written in time\n");
      return 1;
    }
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> appenders;
    for (int t = 0; t < threads; ++t)
      appenders.emplace_back([&, t] {
        for (int i = t; i < records; i += threads) {
          const std::string sop = "1.2.826.0.1.3680043.9.7.9." + std::to_string(i + 1);
          auto hold = journal.append("1.2.826.0.1.3680043.9.7", "1.2.826.0.1.3680043.9.7.1", sop,
                                     payload, dir / "none.dcm");
          hold.release();  // no spool file: the bench measures the journal alone
        }
      });
    for (auto& a : appenders) a.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto stats = journal.stats();
    std::printf("%8d %12.0f %18.3f %10llu\n", threads, records / seconds,
                stats.appended ? static_cast<double>(stats.flushes) / stats.appended : 0.0,
                static_cast<unsigned long long>(stats.fallbacks));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
