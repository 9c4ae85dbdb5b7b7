#include "metrics.h"

#include <sstream>

#include "livernode/node/ingest/ingest_journal.h"

namespace livernode::node {

std::string metrics_text(Runtime& rt) {
  std::ostringstream o;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
      << name << " " << v << "\n";
  };
  const auto& m = rt.metrics;
  counter("livernode_associations_accepted_total", "DICOM associations accepted",
          m.associations_accepted);
  counter("livernode_associations_rejected_total", "DICOM associations rejected",
          m.associations_rejected);
  counter("livernode_associations_receive_failed_total",
          "connections closed because no valid association request could be read",
          m.associations_receive_failed);
  counter("livernode_instances_received_total", "instances stored in the spool",
          m.instances_received);
  counter("livernode_instances_duplicate_total", "instances received again and not stored twice",
          m.instances_duplicate);
  counter("livernode_instances_failed_total", "C-STORE requests answered with a failure status",
          m.instances_failed);
  counter("livernode_received_bytes_total", "bytes of stored instances", m.bytes_received);
  counter("livernode_deliveries_total", "result objects delivered", m.deliveries);
  counter("livernode_delivery_retries_total", "failed delivery attempts that will be retried",
          m.delivery_retries);
  counter("livernode_dead_letters_total", "deliveries given up after the last attempt",
          m.dead_letters);
  if (rt.journal) {
    const auto j = rt.journal->stats();
    counter("livernode_ingest_journal_records_total",
            "instances made durable by one write into the ingest journal", j.appended);
    counter("livernode_ingest_journal_flushes_total",
            "disk flushes of the ingest journal; one covers the records of every association "
            "waiting for it",
            j.flushes);
    counter("livernode_ingest_journal_fallbacks_total",
            "instances fsynced one by one because the journal had no room for them", j.fallbacks);
    counter("livernode_ingest_journal_segments_synced_total",
            "journal segments whose spool files were synced in one batch", j.segments_synced);
    o << "# HELP livernode_ingest_journal_segments_kept journal segments held for replay at the "
         "next start because a spool file could not be written\n"
         "# TYPE livernode_ingest_journal_segments_kept gauge\n"
      << "livernode_ingest_journal_segments_kept " << j.segments_kept << "\n";
  }
  o << "# HELP livernode_analysis_duration_seconds time spent in study analyses\n"
       "# TYPE livernode_analysis_duration_seconds summary\n"
    << "livernode_analysis_duration_seconds_sum " << m.analysis_seconds_millis / 1000.0 << "\n"
    << "livernode_analysis_duration_seconds_count " << m.analyses_finished << "\n";
  // The nodes on this state whose heartbeat is recent (one with SQLite), and those silent
  // beyond node.lease_s: their jobs and deliveries go to the others.
  {
    const auto cfg = rt.config.get();
    const double now = wall_now();
    int alive = 0, silent = 0;
    for (const auto& n : rt.store->nodes())
      (now - n.last_heartbeat <= cfg->config.node.lease_s ? alive : silent)++;
    o << "# HELP livernode_cluster_nodes nodes working on this state, by their last heartbeat\n"
         "# TYPE livernode_cluster_nodes gauge\n"
      << "livernode_cluster_nodes{heartbeat=\"alive\"} " << alive << "\n"
      << "livernode_cluster_nodes{heartbeat=\"silent\"} " << silent << "\n";
  }
  counter("livernode_jobs_taken_over_total",
          "jobs this node took over from a node whose lease ran out", m.jobs_taken_over);
  counter("livernode_jobs_lost_total",
          "jobs this node finished after another node had taken them over (results discarded)",
          m.jobs_lost);
  counter("livernode_jobs_timed_out_total",
          "analyses failed for running longer than processing.job_time_limit_s (worker replaced)",
          m.jobs_timed_out);
  const StoreCounts c = rt.store->counts();
  o << "# HELP livernode_jobs jobs by state\n# TYPE livernode_jobs gauge\n";
  for (JobState state : {JobState::queued, JobState::running, JobState::done, JobState::failed}) {
    const char* s = to_string(state);
    const auto it = c.jobs_by_state.find(s);
    o << "livernode_jobs{state=\"" << s << "\"} " << (it == c.jobs_by_state.end() ? 0 : it->second)
      << "\n";
  }
  o << "# HELP livernode_outbox deliveries by state\n# TYPE livernode_outbox gauge\n";
  for (DeliveryState state :
       {DeliveryState::pending, DeliveryState::delivered, DeliveryState::dead}) {
    const char* s = to_string(state);
    const auto it = c.outbox_by_state.find(s);
    o << "livernode_outbox{state=\"" << s << "\"} "
      << (it == c.outbox_by_state.end() ? 0 : it->second) << "\n";
  }
  const auto pending = c.outbox_by_state.find(to_string(DeliveryState::pending));
  o << "# HELP livernode_outbox_depth deliveries waiting\n# TYPE livernode_outbox_depth gauge\n"
    << "livernode_outbox_depth " << (pending == c.outbox_by_state.end() ? 0 : pending->second)
    << "\n";
  o << "# HELP livernode_studies studies by state\n# TYPE livernode_studies gauge\n";
  for (const auto& [s, n] : c.studies_by_state)
    o << "livernode_studies{state=\"" << s << "\"} " << n << "\n";
  o << "# HELP livernode_spool_instances instances held in the spool\n# TYPE "
       "livernode_spool_instances gauge\n"
    << "livernode_spool_instances " << c.instances << "\n";
  o << "# HELP livernode_scp_listening 1 while the DICOM listener accepts associations\n"
       "# TYPE livernode_scp_listening gauge\n"
    << "livernode_scp_listening " << (rt.scp_listening ? 1 : 0) << "\n";
  return o.str();
}

}  // namespace livernode::node
