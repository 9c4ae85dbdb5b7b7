#include "livernode/node/workflow/worker_pool.h"

// clang-format off
#include "dcmtk/config/osconfig.h"
// clang-format on
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <map>

#include "livernode/config/enums.h"
#include "livernode/node/ingest/spool.h"
#include "livernode/node/workflow/exporter.h"
#include "livernode/node/workflow/job_inputs.h"
#include "livernode/study/study_analysis.h"

namespace livernode::node {

namespace fs = std::filesystem;

WorkerPool::WorkerPool(Runtime& runtime, Wakeup& wake, Wakeup& exporter)
    : runtime_(runtime), wake_(wake), exporter_(exporter) {}

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void WorkerPool::add_worker() {
  std::lock_guard lock(workers_mutex_);
  workers_.push_back(std::make_unique<Worker>());
  Worker& w = *workers_.back();
  w.thread = std::thread([this, &w] { run(w); });
}

void WorkerPool::start(int workers) {
  for (int i = 0; i < std::max(1, workers); ++i) add_worker();
  watchdog_ = std::thread([this] {
    // Checked every second: the limit is minutes in practice, seconds in tests.
    while (watchdog_wake_.wait(1.0)) {
      try {
        check_time_limits(steady_seconds());
      } catch (const std::exception& e) {
        spdlog::error("event=worker_error error=\"watchdog: {}\"", e.what());
      }
    }
  });
}

void WorkerPool::stop() {
  watchdog_wake_.stop();
  if (watchdog_.joinable()) watchdog_.join();
  wake_.stop();
  std::vector<std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(workers_mutex_);
    workers.swap(workers_);
  }
  for (auto& w : workers) {
    bool abandoned = false;
    {
      std::lock_guard lock(w->mutex);
      abandoned = w->abandoned && w->job.has_value();
    }
    if (abandoned)
      spdlog::warn(
          "event=shutdown_waiting reason=\"a worker abandoned at the time limit is still in "
          "its analysis\"");
    if (w->thread.joinable()) w->thread.join();
  }
}

int WorkerPool::check_time_limits(double now) {
  const auto cfg = runtime_.config.get();
  const int limit = cfg->config.processing.job_time_limit_s;
  if (limit <= 0) return 0;
  const std::string node = config::node_name(cfg->config.node);
  std::vector<Worker*> late;
  std::vector<std::unique_ptr<Worker>> ended;  // abandoned workers whose analysis returned
  {
    std::lock_guard lock(workers_mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      bool done = false;
      {
        std::lock_guard worker_lock((*it)->mutex);
        done = (*it)->abandoned && !(*it)->job;
      }
      if (done) {
        ended.push_back(std::move(*it));
        it = workers_.erase(it);
      } else {
        late.push_back((it++)->get());
      }
    }
  }
  for (auto& w : ended)
    if (w->thread.joinable()) w->thread.join();
  int failed = 0;
  for (Worker* w : late) {
    std::lock_guard lock(w->mutex);
    if (!w->job || w->abandoned || now - w->started < limit) continue;
    const JobRow& job = *w->job;
    const std::string error =
        "exceeded the time limit of " + std::to_string(limit) +
        " s (processing.job_time_limit_s); the analysis was abandoned and its worker replaced";
    // Decided in the store, once: false when the job ended (or was taken over) meanwhile.
    if (!runtime_.store->finish_job(job.id, JobState::failed, error, "", 0, wall_now(), {}, node))
      continue;
    w->abandoned = true;
    ++failed;
    runtime_.metrics.jobs_timed_out++;
    spdlog::error(
        "event=job_state job={} study={} version={} state=failed seconds={:.0f} error=\"{}\"",
        job.id, job.study_uid, job.version, now - w->started, error);
  }
  for (int i = 0; i < failed; ++i) add_worker();
  return failed;
}

void WorkerPool::run(Worker& self) {
  while (!wake_.stopped()) {
    std::optional<JobRow> job;
    try {
      job = runtime_.store->claim_next_job(wall_now(), claimant_of(runtime_.config.get()->config));
    } catch (const std::exception& e) {
      spdlog::error("event=worker_error error=\"{}\"", e.what());
    }
    if (!job) {
      if (!wake_.wait(1.0)) return;
      continue;
    }
    {
      std::lock_guard lock(self.mutex);
      self.job = job;
      self.started = steady_seconds();
    }
    process(*job, self);
    std::lock_guard lock(self.mutex);
    self.job.reset();
    if (self.abandoned) return;  // a new worker took its place
  }
}

namespace {

// Hard links (copies across file systems) of the analysed series' files under `input`.
void link_series(const fs::path& spool_study, const std::vector<SeriesRow>& series,
                 const fs::path& input) {
  for (const auto& s : series) {
    if (s.action != SeriesAction::analyse || !is_valid_uid(s.series_uid)) continue;
    const fs::path from = spool_study / s.series_uid;
    if (!fs::is_directory(from)) continue;
    fs::create_directories(input / s.series_uid);
    for (const auto& entry : fs::directory_iterator(from)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".dcm") continue;
      const fs::path to = input / s.series_uid / entry.path().filename();
      std::error_code ec;
      fs::create_hard_link(entry.path(), to, ec);
      if (ec) fs::copy_file(entry.path(), to, fs::copy_options::overwrite_existing);
    }
  }
}

}  // namespace

void WorkerPool::process(const JobRow& job, Worker& self) {
  const auto cfg = runtime_.config.get();
  const std::string node = config::node_name(cfg->config.node);
  if (!job.previous_node.empty()) {
    runtime_.metrics.jobs_taken_over++;
    spdlog::warn(
        "event=job_taken_over job={} study={} version={} from_node={} attempt={} reason=\"its "
        "lease ran out\"",
        job.id, job.study_uid, job.version, job.previous_node, job.attempts);
  }
  // A job that was running each time a node died is not started a fourth time: the
  // analysis itself may be what brings the node down.
  constexpr int kMaxStarts = 3;
  if (job.attempts > kMaxStarts) {
    const std::string error = "given up: the node stopped during each of " +
                              std::to_string(kMaxStarts) + " earlier attempts of this analysis";
    runtime_.store->finish_job(job.id, JobState::failed, error, "", 0, wall_now(), {}, node);
    spdlog::error("event=job_state job={} study={} version={} state=failed error=\"{}\"", job.id,
                  job.study_uid, job.version, error);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  runtime_.metrics.jobs_started++;
  spdlog::info(
      "event=job_state job={} study={} version={} state=running attempt={} kind={} node={}", job.id,
      job.study_uid, job.version, job.attempts, job.kind, node);
  JobState state = JobState::failed;
  std::string error;
  std::int64_t objects = 0;
  std::vector<OutboxRow> rows;  // committed together with the job's end
  // A job taken over from a node whose lease ran out is written beside, not over, what that
  // node may still be writing (it may be alive but cut off from the database): its own folder
  // v<version>-attempt<n>, which the job's row then names.
  const std::string leaf =
      "v" + std::to_string(job.version) +
      (job.previous_node.empty() ? "" : "-attempt" + std::to_string(job.attempts));
  const fs::path out = fs::path(cfg->config.storage.results_dir) / job.study_uid / leaf;
  try {
    Spool spool(cfg->config.storage.spool_dir);
    const fs::path input = out.string() + ".input";
    std::error_code ec;
    fs::remove_all(input, ec);
    fs::remove_all(out, ec);
    // Every study of the job's visit: the phases the archive filed under other studies too.
    for (const auto& member : runtime_.store->studies_of_visit(job.study_uid))
      link_series(spool.study_dir(member.study_uid), runtime_.store->series_of(member.study_uid),
                  input);
    study::AnalyseFolderOptions options =
        study::analysis_options_from(cfg->config, out.string() + ".work");
    options.result_version = job.version;
    choose_follow_up_prior(*runtime_.store, job, input, options);
    error = add_correction_inputs(job, *runtime_.store, options);
    const study::StudyAnalysisOutcome outcome =
        error.empty() ? study::analyse_folder(input, out, options) : study::StudyAnalysisOutcome{};
    fs::remove_all(input, ec);
    if (error.empty()) error = correction_outcome_error(job, outcome);  // then nothing is sent
    if (error.empty() && !outcome.usable) {
      error = outcome.error.empty() ? "no usable series" : outcome.error;
    } else if (error.empty()) {
      // Each object as its writer describes it: kind, SOP class and instance, transfer syntax.
      for (const auto& object : outcome.objects) {
        const std::string& kind = object.kind;
        ++objects;
        for (const auto& d : cfg->config.destinations) {
          bool accepts = false;
          for (auto k : d.accepts) accepts = accepts || config::to_string(k) == kind;
          if (!accepts) continue;
          OutboxRow r;
          r.job_id = job.id;
          r.study_uid = job.study_uid;
          r.destination = d.name;
          r.kind = kind;
          r.path = fs::absolute(object.file).string();
          r.sop_class_uid = object.sop_class_uid;
          r.sop_instance_uid = object.sop_instance_uid;
          r.transfer_syntax_uid = object.transfer_syntax_uid;
          r.created_at = wall_now();
          rows.push_back(std::move(r));
        }
      }
      state = JobState::done;
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  runtime_.metrics.analyses_finished++;
  runtime_.metrics.analysis_seconds_millis += static_cast<std::uint64_t>(seconds * 1000);
  try {
    if (state != JobState::done) rows.clear();
    if (!runtime_.store->finish_job(job.id, state, error, out.string(), objects, wall_now(), rows,
                                    node)) {
      bool abandoned = false;
      {
        std::lock_guard lock(self.mutex);
        abandoned = self.abandoned;
      }
      if (abandoned) {
        spdlog::warn(
            "event=job_late_result job={} study={} version={} seconds={:.0f} reason=\"the job "
            "was failed at processing.job_time_limit_s\" note=\"these results are not "
            "delivered\"",
            job.id, job.study_uid, job.version, seconds);
        return;
      }
      // This node lost the job (its lease ran out while it could not renew it) and another
      // node runs it again: that run's results are the only ones queued for delivery.
      runtime_.metrics.jobs_lost++;
      spdlog::warn(
          "event=job_lost job={} study={} version={} reason=\"another node took it over after "
          "this node's lease ran out\" note=\"these results are not delivered\"",
          job.id, job.study_uid, job.version);
      return;
    }
    // A correction that failed (or changed nothing) leaves the results of the version it
    // corrected standing: finish_job kept the study done with them.
    if (state != JobState::done && job.kind == "correction") {
      const auto study = runtime_.store->study(job.study_uid);
      int standing = 0;
      for (const auto& j : runtime_.store->jobs(job.study_uid, 1000))
        if (j.state == JobState::done) standing = std::max(standing, j.version);
      if (study && study->state == StudyState::done && standing > 0) {
        spdlog::info(
            "event=study_state study={} state=done reason=\"the correction of job {} "
            "failed; the results of version {} stand\"",
            job.study_uid, job.id, standing);
      }
    }
    if (!rows.empty()) {
      spdlog::info("event=outbox_queued job={} study={} deliveries={}", job.id, job.study_uid,
                   rows.size());
      exporter_.notify();
    }
  } catch (const std::exception& e) {
    spdlog::error("event=worker_error job={} error=\"{}\"", job.id, e.what());
  }
  if (state == JobState::done)
    spdlog::info("event=job_state job={} study={} version={} state=done objects={} seconds={:.2f}",
                 job.id, job.study_uid, job.version, objects, seconds);
  else
    spdlog::warn(
        "event=job_state job={} study={} version={} state=failed seconds={:.2f} error=\"{}\"",
        job.id, job.study_uid, job.version, seconds, error);
}

}  // namespace livernode::node
