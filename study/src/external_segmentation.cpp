#include "livernode/study/external_segmentation.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "livernode/processing/nifti_io.h"

extern char** environ;

namespace livernode::study {

namespace fs = std::filesystem;

namespace {

constexpr double kGridToleranceMm = 0.01;

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
  for (std::size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos; pos += with.size()) {
    text.replace(pos, what.size(), with);
  }
  return text;
}

std::string last_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last.size() > 300 ? last.substr(last.size() - 300) : last;
}

struct RunOutcome {
  bool timed_out = false;
  int exit_status = -1;  // -1: killed by a signal or not started
  std::string error;     // could not start
};

// Runs argv in its own process group with stdout and stderr to `log`; kills the group after
// the timeout.
RunOutcome run(const std::vector<std::string>& argv, const fs::path& log, int timeout_s) {
  RunOutcome out;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, raw[0], &actions, &attributes, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    out.error = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return out;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      out.timed_out = true;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (WIFEXITED(status)) out.exit_status = WEXITSTATUS(status);
  return out;
}

processing::ExternalLiver segment(const ExternalSegmentationSettings& settings,
                                  const processing::Volume& reference) {
  processing::ExternalLiver result;
  if (settings.command.empty()) {
    result.failure = "no external command configured";
    return result;
  }
  std::random_device rd;
  const fs::path dir =
      settings.work_dir / ("external-" + std::to_string(rd()) + std::to_string(rd()));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    result.failure = "cannot create " + dir.string() + ": " + ec.message();
    return result;
  }
  const fs::path input = dir / "input.nii.gz", output = dir / "output.nii.gz",
                 log = dir / "output.log";
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};

  try {
    processing::write_nifti(reference, input);
  } catch (const processing::NiftiError& e) {
    result.failure = e.what();
    return result;
  }
  std::vector<std::string> argv;
  bool placeholders = false;
  for (const auto& a : settings.command) {
    placeholders = placeholders || a.find("{input}") != std::string::npos ||
                   a.find("{output}") != std::string::npos;
    argv.push_back(
        replace_all(replace_all(a, "{input}", input.string()), "{output}", output.string()));
  }
  if (!placeholders) {
    argv.push_back(input.string());
    argv.push_back(output.string());
  }
  const fs::path program = fs::path(settings.command.front()).filename();
  const auto t0 = std::chrono::steady_clock::now();
  spdlog::info("event=external_segmentation_start program={} timeout_s={}", program.string(),
               settings.timeout_s);
  const RunOutcome ran = run(argv, log, settings.timeout_s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!ran.error.empty()) {
    result.failure = ran.error;
  } else if (ran.timed_out) {
    result.failure = program.string() + " did not finish within " +
                     std::to_string(settings.timeout_s) + " s and was stopped";
  } else if (ran.exit_status != 0) {
    std::ostringstream m;
    m << program.string() << " failed (exit status " << ran.exit_status << ")";
    const auto tail = last_line(log);
    if (!tail.empty()) m << ": " << tail;
    result.failure = m.str();
  } else if (!fs::exists(output)) {
    result.failure = program.string() + " wrote no label map (" + output.filename().string() + ")";
  }
  if (!result.failure.empty()) {
    spdlog::warn("event=external_segmentation_failed program={} seconds={:.1f} reason=\"{}\"",
                 program.string(), seconds, result.failure);
    return result;
  }
  processing::LabelMap labels;
  try {
    labels = processing::read_nifti_labels(output);
  } catch (const processing::NiftiError& e) {
    result.failure = e.what();
    spdlog::warn("event=external_segmentation_failed program={} reason=\"{}\"", program.string(),
                 result.failure);
    return result;
  }
  if (!labels.geometry.same_grid(reference.geometry, kGridToleranceMm)) {
    const auto& a = labels.geometry.size;
    const auto& b = reference.geometry.size;
    result.failure = program.string() + " returned a label map on another grid (" +
                     std::to_string(a[0]) + "x" + std::to_string(a[1]) + "x" +
                     std::to_string(a[2]) + " vs " + std::to_string(b[0]) + "x" +
                     std::to_string(b[1]) + "x" + std::to_string(b[2]) +
                     ", or different spacing, origin or orientation)";
  }
  std::size_t liver = 0;
  if (result.failure.empty()) {
    result.mask = processing::LabelMap(labels.geometry, 0);
    for (std::size_t p = 0; p < labels.voxels.size(); ++p) {
      const bool in = labels.voxels[p] == settings.liver_label;
      result.mask.voxels[p] = in;
      liver += in;
    }
    if (liver == 0) {
      result.failure = program.string() + " returned no voxel with the liver label " +
                       std::to_string(settings.liver_label);
    }
  }
  if (!result.failure.empty()) {
    result.mask = {};
    spdlog::warn("event=external_segmentation_failed program={} reason=\"{}\"", program.string(),
                 result.failure);
    return result;
  }
  std::ostringstream m;
  m.precision(1);
  m << std::fixed << "external: " << program.string() << " (liver label " << settings.liver_label
    << "), checked for grid and label, " << seconds << " s";
  result.method = m.str();
  spdlog::info("event=external_segmentation_done program={} seconds={:.1f} liver_voxels={}",
               program.string(), seconds, liver);
  return result;
}

}  // namespace

processing::LiverBackend external_liver_backend(ExternalSegmentationSettings settings) {
  return [settings](const processing::Volume& reference) { return segment(settings, reference); };
}

}  // namespace livernode::study
