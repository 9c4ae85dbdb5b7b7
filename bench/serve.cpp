// Accuracy of the network route: for every real case with truth, a fresh `livernode serve` on
// loopback receives the case's ct/ folder from DCMTK's storescu, as a PACS would send it; once
// its job is done, the SEG the node wrote is read onto the reference series' grid and scored
// against the manual truth (HCC cases: truth SEGs placed by frame position; chaos-ct: one PNG
// mask per slice). Prints per case the phases, liver Dice and volume error, lesions found /
// missed / false and the wall time, in the layout of livernode_bench_accuracy.
//
//   livernode_bench_serve [--data SHARED_DATA_DIR] [--livernode BIN] [--keep]
#include <arpa/inet.h>
#include <cairo.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include "case_truth.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "livernode/dicom/segmentation_reader.h"
#include "livernode/dicom/series_scanner.h"
#include "livernode/dicom/volume_loader.h"
#include "livernode/node/store/sqlite_state_store.h"
#include "livernode/study/corrections.h"

namespace fs = std::filesystem;
using namespace livernode;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A TCP port on loopback that was free a moment ago.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free TCP port on loopback");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// `livernode serve` in its own folder, on loopback; stopped (SIGTERM) when destroyed.
class ServeProcess {
 public:
  ServeProcess(const fs::path& binary, const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir);
    dicom_port_ = free_port();
    do http_port_ = free_port();
    while (http_port_ == dicom_port_);
    std::ofstream(dir / "node.yaml")
        << "node:\n  ae_title: LIVERNODE\n  port: " << dicom_port_ << "\n"
        << "storage:\n  spool_dir: " << (dir / "spool").string()
        << "\n  state_db: " << (dir / "state.sqlite").string()
        << "\n  results_dir: " << (dir / "results").string() << "\n  min_free_disk_mb: 1\n"
        << "study_completion:\n  series_quiet_s: 2\n  study_quiet_s: 3\n  max_wait_s: 600\n"
        << "http:\n  bind_address: 127.0.0.1\n  port: " << http_port_ << "\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = (dir / "serve.log").string();
      if (!std::freopen(log.c_str(), "a", stderr)) ::_exit(126);
      ::dup2(::fileno(stderr), STDOUT_FILENO);
      ::execl(binary.c_str(), binary.c_str(), "serve", "--config", (dir / "node.yaml").c_str(),
              nullptr);
      ::_exit(127);
    }
    const std::string ready =
        "curl -sf -o /dev/null http://127.0.0.1:" + std::to_string(http_port_) + "/readyz";
    for (int i = 0; i < 300; ++i) {
      if (std::system(ready.c_str()) == 0) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("livernode serve exited at start; see " + log_path().string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("livernode serve not ready after 30 s; see " + log_path().string());
  }
  ~ServeProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  fs::path state_db() const { return dir_ / "state.sqlite"; }
  fs::path log_path() const { return dir_ / "serve.log"; }
  int dicom_port() const { return dicom_port_; }

 private:
  fs::path dir_;
  int dicom_port_ = 0, http_port_ = 0;
  pid_t pid_ = -1;
};

struct Case {
  std::string name;
  fs::path dir;
  bool png_truth = false;
};

// The true phase of a real series from its description (AP, PP, EQP), "?" when it says none.
std::string true_phase(const std::string& description, bool single_portal_venous) {
  if (description.find("EQP") != std::string::npos) return "delayed";
  if (description.find("PP") != std::string::npos) return "portal_venous";
  if (description.find("AP") != std::string::npos) return "arterial";
  return single_portal_venous ? "portal_venous" : "?";
}

void run_case(const Case& c, const fs::path& binary, const fs::path& work) {
  std::printf("%s (serve)\n", c.name.c_str());
  std::fflush(stdout);
  const fs::path ct = c.dir / "ct";
  const auto t0 = std::chrono::steady_clock::now();
  ServeProcess node(binary, work / c.name);
  node::SqliteStateStore store(node.state_db());
  const auto sent_at = std::chrono::steady_clock::now();
  const std::string send = "TCP_NODELAY=1 storescu -aec LIVERNODE 127.0.0.1 " +
                           std::to_string(node.dicom_port()) + " +sd +r " + ct.string() + " > " +
                           (work / c.name / "storescu.log").string() + " 2>&1";
  if (std::system(send.c_str()) != 0) {
    std::printf("  storescu failed; see %s\n", (work / c.name / "storescu.log").c_str());
    return;
  }
  const double send_s = seconds_since(sent_at);
  // Done: every job finished and no study waiting to become one.
  std::vector<node::JobRow> jobs;
  for (;;) {
    jobs = store.jobs("", 1000);
    bool busy = jobs.empty() || !store.studies(livernode::node::StudyState::receiving, 10).empty();
    for (const auto& j : jobs)
      busy = busy || j.state == node::JobState::queued || j.state == node::JobState::running;
    if (!busy) break;
    if (seconds_since(sent_at) > 1800) {
      std::printf("  no finished job after 30 min; see %s\n", node.log_path().c_str());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const double wall = seconds_since(sent_at);
  std::set<std::string> studies;
  for (const auto& s : store.studies(std::nullopt, 100)) studies.insert(s.study_uid);
  std::printf("  %zu instances in %zu studies sent in %.1f s; %zu job(s):",
              static_cast<std::size_t>(store.counts().instances), studies.size(), send_s,
              jobs.size());
  for (const auto& j : jobs)
    std::printf(" v%d %s (%.1f s analysis)", j.version, node::to_string(j.state),
                j.finished_at - j.started_at);
  std::printf("\n");
  const node::JobRow& job = jobs.front();  // the newest
  if (job.state != node::JobState::done) {
    std::printf("  job failed: %s\n  wall %.1f s\n", job.error.c_str(), wall);
    return;
  }
  json summary;
  try {
    std::ifstream in(fs::path(job.result_dir) / "summary.json");
    summary = json::parse(in);
  } catch (const std::exception& e) {
    std::printf("  summary.json unreadable: %s\n", e.what());
    return;
  }
  // The analysis with a liver (the case is one examination; more would be printed as such).
  const auto& analyses = summary.at("analyses");
  if (analyses.size() != 1)
    std::printf("  %zu analyses in one job (one examination expected)\n", analyses.size());
  const json* analysis = nullptr;
  for (const auto& a : analyses)
    if (!analysis && !a.at("liver").is_null()) analysis = &a;
  if (!analysis) {
    std::printf("  liver: not segmented\n  wall %.1f s\n", wall);
    return;
  }
  const std::size_t series_count = (*analysis).at("series").size();
  for (const auto& s : (*analysis).at("series")) {
    const std::string description = s.value("description", "");
    const std::string phase =
        s.contains("phase") ? s.at("phase").value("detected", "?") : std::string("not loaded");
    std::printf("  series %-28s phase %-14s (true %-13s)\n", description.substr(0, 28).c_str(),
                phase.c_str(), true_phase(description, series_count == 1).c_str());
  }
  // The reference series' grid, and the SEG the node wrote on it.
  const std::string reference = (*analysis).value("reference_series_instance_uid", "");
  std::optional<processing::Geometry> grid;
  std::string reference_description;
  for (const auto& s : dicom::scan_directory(ct).series)
    if (s.series_uid == reference) {
      grid = dicom::load_volume(s).volume.geometry;
      reference_description = s.description;
    }
  fs::path seg_file;
  // The liver and lesions SEG (the others hold the Couinaud segments and the remnant).
  for (const auto& o : (*analysis).at("objects"))
    if (o.value("kind", "") == "seg" && o.value("content", "liver_lesions") == "liver_lesions")
      seg_file = fs::path(job.result_dir) / o.value("path", "");
  if (!grid || seg_file.empty()) {
    std::printf("  no SEG on the reference series\n  wall %.1f s\n", wall);
    return;
  }
  processing::LabelMap liver(*grid, 0), lesions(*grid, 0);
  // The liver segment is the parenchyma: the liver is it and the lesions together.
  for (const auto& s : dicom::read_segmentation(seg_file, *grid).segments) {
    const auto role = study::segment_role(s.type_code, s.label);
    if (role == study::SegmentRole::liver || role == study::SegmentRole::lesion)
      for (std::size_t p = 0; p < s.mask.voxels.size(); ++p)
        if (s.mask.voxels[p]) liver.voxels[p] = 1;
    if (role == study::SegmentRole::lesion)
      for (std::size_t p = 0; p < s.mask.voxels.size(); ++p)
        if (s.mask.voxels[p] && !lesions.voxels[p])
          lesions.voxels[p] = static_cast<std::uint8_t>(s.number);
  }
  const bench::CaseTruth truth = c.png_truth
                                     ? bench::png_truth(ct, c.dir / "truth" / "liver-png", *grid)
                                     : bench::seg_truth(c.dir / "truth", *grid);
  if (!truth.note.empty()) std::printf("  truth: %s\n", truth.note.c_str());
  const double voxel_ml = grid->voxel_volume_ml();
  if (!truth.liver.empty()) {
    const auto s = bench::overlap(liver, truth.liver);
    std::printf(
        "  liver (on %s): Dice %.4f  volume %.0f mL vs truth %.0f mL (%+.1f %%); reported %.0f "
        "mL\n",
        reference_description.c_str(), s.dice(), s.found_voxels * voxel_ml,
        s.truth_voxels * voxel_ml, s.volume_error_percent(),
        (*analysis).at("liver").value("volume_ml", 0.0));
  }
  if (!truth.lesions.empty()) {
    const auto score = bench::score_lesions(lesions, truth.lesions);
    for (const auto& t : score.truth) {
      if (t.found)
        std::printf("    truth lesion %d: %.2f mL, found as %.2f mL (%+.0f %%), Dice %.2f\n",
                    t.number, t.volume_ml, t.found_ml,
                    100.0 * (t.found_ml - t.volume_ml) / t.volume_ml, t.dice);
      else
        std::printf("    truth lesion %d: %.2f mL, missed\n", t.number, t.volume_ml);
    }
    for (double ml : score.false_ml) std::printf("    false positive: %.2f mL\n", ml);
    std::printf("  lesions: %d found, %d missed, %zu false positive(s)\n", score.found(),
                score.missed(), score.false_ml.size());
  }
  std::printf("  wall %.1f s from the first instance sent to the results (node start %.1f s)\n",
              wall, std::chrono::duration<double>(sent_at - t0).count());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data = LIVERNODE_DEFAULT_SHARED_DATA;
  fs::path binary = LIVERNODE_DEFAULT_BINARY;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc)
      data = argv[++i];
    else if (a == "--livernode" && i + 1 < argc)
      binary = argv[++i];
    else if (a == "--keep")
      keep = true;
    else {
      std::fprintf(stderr,
                   "usage: livernode_bench_serve [--data DIR] [--livernode BIN] [--keep]\n");
      return 64;
    }
  }
  std::random_device rd;
  const fs::path work =
      fs::temp_directory_path() / ("livernode-bench-serve-" + std::to_string(rd()));
  fs::create_directories(work);
  const std::vector<Case> cases = {{"hcc-tace-0697", data / "real" / "hcc-tace-0697"},
                                   {"hcc-tace-1720", data / "real" / "hcc-tace-1720"},
                                   {"hcc-tace-2144", data / "real" / "hcc-tace-2144"},
                                   {"chaos-ct", data / "real" / "chaos-ct", true}};
  for (const auto& c : cases) {
    if (!fs::exists(c.dir / "ct") || !fs::exists(c.dir / "truth")) {
      std::printf("%s: absent, skipped\n", c.name.c_str());
      continue;
    }
    try {
      run_case(c, binary, work);
    } catch (const std::exception& e) {
      std::printf("  failed: %s\n", e.what());
    }
  }
  if (keep)
    std::printf("node folders kept in %s\n", work.c_str());
  else
    fs::remove_all(work);
  return 0;
}
