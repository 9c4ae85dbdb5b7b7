#include "livernode/node/workflow/study_tracker.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "livernode/node/ingest/spool.h"
#include "livernode/node/workflow/visits.h"

namespace livernode::node {

namespace fs = std::filesystem;

StudyTracker::StudyTracker(Runtime& runtime, Wakeup& workers)
    : runtime_(runtime), workers_(workers) {}

void StudyTracker::start() {
  thread_ = std::thread([this] {
    do {
      try {
        tick(wall_now());
      } catch (const std::exception& e) {
        spdlog::error("event=tracker_error error=\"{}\"", e.what());
      }
    } while (wake_.wait(0.25));
  });
}

void StudyTracker::stop() {
  wake_.stop();
  if (thread_.joinable()) thread_.join();
}

void StudyTracker::tick(double now) {
  const auto cfg = runtime_.config.get();
  const auto& sc = cfg->config.study_completion;
  for (const auto& s : runtime_.store->complete_quiet_series(now - sc.series_quiet_s))
    spdlog::info(
        "event=series_complete study={} series={} instances={} modality={} action={} rule={}",
        s.study_uid, s.series_uid, s.instances, s.modality, to_string(s.action),
        s.rule.empty() ? "-" : s.rule);
  bool stored_any = false;
  // Studies of one examination filed under several StudyInstanceUIDs become one visit, which
  // is readied as a whole: when each of its receiving studies is quiet (or one waited max_wait_s).
  assign_visits(*runtime_.store);
  std::map<std::string, std::vector<StudyRow>> receiving_visits;
  for (auto& study : runtime_.store->studies(StudyState::receiving, 10000))
    receiving_visits[study.visit_uid].push_back(std::move(study));
  for (const auto& [visit, receiving] : receiving_visits) {
    bool quiet = true, forced = false;
    for (const auto& study : receiving) {
      quiet = quiet && now - study.last_arrival >= sc.study_quiet_s;
      forced = forced || now - study.first_arrival >= sc.max_wait_s;
    }
    if (!quiet && !forced) continue;
    const char* reason = quiet ? "study_quiet" : "max_wait";
    const std::vector<StudyRow> members = runtime_.store->studies_of_visit(visit);
    // Instances acknowledged but not yet recorded belong to the study: it waits for them.
    std::size_t on_the_way = 0;
    for (const auto& m : members) on_the_way += runtime_.in_flight.of(m.study_uid);
    if (on_the_way) {
      spdlog::debug(
          "event=study_waits visit={} reason=\"{} acknowledged instance(s) not yet "
          "recorded\"",
          visit, on_the_way);
      continue;
    }
    std::int64_t analysed = 0, instances = 0, series = 0;
    for (const auto& m : members) {
      analysed += m.analysed_series;
      instances += m.instances;
      series += m.series;
    }
    if (analysed > 0) {
      // Decided in the state store, once: on a state shared by several nodes each tracker
      // sees the visit quiet, and only the first to decide queues its job (the others find it
      // queued, or reopened by an instance that arrived since their look).
      const std::optional<JobRow> queued = runtime_.store->create_job_if_ready(
          visit, now, now - sc.study_quiet_s, now - sc.max_wait_s);
      if (!queued) continue;
      const JobRow& job = *queued;
      spdlog::info(
          "event=job_state job={} study={} version={} state=queued reason={} instances={} "
          "series={} studies={}",
          job.id, job.study_uid, job.version, reason, instances, series, members.size());
      workers_.notify();
    } else {
      for (const auto& study : receiving) {
        runtime_.store->set_study_state(study.study_uid, StudyState::stored, now);
        stored_any = true;
        spdlog::info(
            "event=study_stored study={} reason=\"no series routed to analysis\" instances={} "
            "series={}",
            study.study_uid, study.instances, study.series);
      }
    }
  }
  if (stored_any || now - last_retention_ >= 30) {
    last_retention_ = now;
    apply_retention(now);
  }
}

void StudyTracker::apply_retention(double now) {
  const auto cfg = runtime_.config.get();
  const auto& st = cfg->config.storage;
  auto purge = [&](const StudyRow& study, const char* why) {
    if (!is_valid_uid(study.study_uid)) return;
    std::error_code ec;
    fs::remove_all(fs::path(st.spool_dir) / study.study_uid, ec);
    const std::size_t kept = purge_results_keeping_summaries(
        fs::path(st.results_dir) / study.study_uid, st.summary_retention_days > 0);
    runtime_.store->purge_study(study.study_uid, now);
    spdlog::info("event=study_purged study={} reason={} summaries_kept={}", study.study_uid, why,
                 kept);
  };
  for (const auto& s : runtime_.store->studies(StudyState::stored, 10000))
    if (now - s.state_changed_at >= st.unrouted_retention_hours * 3600.0)
      purge(s, "unrouted_retention");
  for (StudyState state : {StudyState::done, StudyState::failed})
    for (const auto& s : runtime_.store->studies(state, 10000))
      if (now - s.state_changed_at >= st.retention_days * 86400.0 &&
          runtime_.store->pending_outbox_of(s.study_uid) == 0)
        purge(s, "retention");
  // The summaries kept for follow-up, once they are older than their own retention.
  for (const auto& s : runtime_.store->studies(StudyState::purged, 10000)) {
    if (!is_valid_uid(s.study_uid) ||
        now - s.state_changed_at < st.summary_retention_days * 86400.0)
      continue;
    const fs::path dir = fs::path(st.results_dir) / s.study_uid;
    std::error_code ec;
    if (!fs::exists(dir, ec)) continue;
    fs::remove_all(dir, ec);
    spdlog::info("event=summaries_purged study={} reason=summary_retention", s.study_uid);
  }
}

std::size_t purge_results_keeping_summaries(const fs::path& study_results, bool keep_summaries) {
  std::error_code ec;
  if (!keep_summaries) {
    fs::remove_all(study_results, ec);
    return 0;
  }
  std::size_t kept = 0;
  if (!fs::is_directory(study_results, ec)) return 0;
  for (const auto& entry : fs::directory_iterator(study_results, ec)) {
    // results/<study>/vN/summary.json stays; vN/<analysis>/objects, vN.input, vN.work go.
    if (!entry.is_directory() || !fs::exists(entry.path() / "summary.json")) {
      fs::remove_all(entry.path(), ec);
      continue;
    }
    for (const auto& inner : fs::directory_iterator(entry.path(), ec)) {
      if (inner.path().filename() == "summary.json") {
        ++kept;
        continue;
      }
      fs::remove_all(inner.path(), ec);
    }
  }
  return kept;
}

}  // namespace livernode::node
