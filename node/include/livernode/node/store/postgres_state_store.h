#pragma once
// The StateStore in a PostgreSQL database (storage.state_backend postgresql), through libpq.
// The same tables as the SQLite store, created and brought up to date by numbered steps at
// open (node/src/store/schema/postgresql/), in one transaction under an advisory lock, so that
// nodes starting at once do not step on each other. One connection, serialised by a mutex;
// every value travels as a parameter of a prepared statement. A lost connection fails the call
// in progress (StateStoreError) and is opened again by the next one.
#include <memory>
#include <mutex>
#include <string>

#include "livernode/node/store/state_store.h"

namespace livernode::node {

namespace pg {
class Connection;
}

class PostgresStateStore : public StateStore {
 public:
  // Connects with the libpq connection string `conninfo` (and `password`, when not empty, which
  // takes precedence over one in the string) and brings the schema up to date. Throws
  // StateStoreError, whose message never holds the password.
  explicit PostgresStateStore(const std::string& conninfo, const std::string& password = "");
  ~PostgresStateStore() override;
  PostgresStateStore(const PostgresStateStore&) = delete;
  PostgresStateStore& operator=(const PostgresStateStore&) = delete;

  std::optional<std::string> instance_path(const std::string& sop_instance_uid) override;
  std::set<std::string> instances_of_study(const std::string& study_uid) override;
  bool record_instance(const InstanceRecord& instance) override;
  std::vector<StudyRow> studies(std::optional<StudyState> state, int limit) override;
  std::optional<StudyRow> study(const std::string& study_uid) override;
  std::vector<SeriesRow> series_of(const std::string& study_uid) override;
  std::optional<SeriesRow> series_by_uid(const std::string& series_uid) override;
  std::optional<std::string> series_of_instance(const std::string& sop_instance_uid) override;
  std::vector<SeriesRow> complete_quiet_series(double before) override;
  void set_study_state(const std::string& study_uid, StudyState state, double now) override;
  void purge_study(const std::string& study_uid, double now) override;
  std::string visit_of(const std::string& study_uid) override;
  std::vector<StudyRow> studies_of_visit(const std::string& visit_uid) override;
  std::vector<StudyRow> studies_of_same_patient(const std::string& study_uid) override;
  void set_visit(const std::vector<std::string>& study_uids, const std::string& visit_uid) override;
  JobRow create_job(const std::string& study_uid, double now) override;
  // Takes the job with SELECT ... FOR UPDATE SKIP LOCKED: two connections never claim the
  // same job.
  std::optional<JobRow> create_job_if_ready(const std::string& study_uid, double now,
                                            double quiet_before, double forced_before) override;
  std::optional<JobRow> claim_next_job(double now, const Claimant& by = {}) override;
  bool finish_job(std::int64_t job_id, JobState state, const std::string& error,
                  const std::string& result_dir, std::int64_t objects, double now,
                  const std::vector<OutboxRow>& outbox = {}, const std::string& node = "") override;
  int requeue_unfinished_jobs(const std::string& node = "") override;
  std::vector<JobRow> jobs(const std::string& study_uid, int limit) override;
  std::optional<JobRow> job(std::int64_t job_id) override;
  std::vector<JobRow> analyses_of_same_patient(const std::string& study_uid,
                                               int limit = 100) override;
  std::vector<std::int64_t> add_outbox(const std::vector<OutboxRow>& rows) override;
  std::vector<OutboxRow> due_outbox(double now, int limit) override;
  std::vector<OutboxRow> claim_outbox(double now, int limit, const Claimant& by) override;
  bool renew_outbox_claim(std::int64_t id, double now, const Claimant& by) override;
  void release_outbox(const std::string& node) override;
  std::optional<double> next_outbox_due() override;
  void mark_delivered(std::int64_t id, double now) override;
  void mark_attempt_failed(std::int64_t id, const std::string& error, double next_attempt_at,
                           bool dead) override;
  bool requeue_outbox(std::int64_t id, double now) override;
  std::vector<OutboxRow> outbox(std::optional<DeliveryState> state, int limit) override;
  std::int64_t pending_outbox_of(const std::string& study_uid) override;
  bool sent_instance(const std::string& sop_instance_uid) override;
  StoreCounts counts() override;
  void heartbeat(const NodeRow& node, double now, double lease_s) override;
  std::vector<NodeRow> nodes() override;
  // What a connection finds, without changing anything (livernode check-config).
  struct Probe {
    std::string server;          // host, port, database and user; never the password
    std::string server_version;  // e.g. "15.18"
    int schema_version = 0;      // 0: no livernode tables yet
  };
  // Connects as the constructor does, but creates nothing. Throws StateStoreError.
  static Probe probe(const std::string& conninfo, const std::string& password = "");
  // The schema version this build writes.
  static int current_schema_version();

  // The schema version of the database (its schema_version table).
  int schema_version();
  // The server's version, e.g. "15.18".
  std::string server_version();

 private:
  void migrate();
  std::vector<std::int64_t> insert_outbox(const std::vector<OutboxRow>& rows);  // in a transaction
  JobRow insert_job(const std::string& study_uid, const std::string& kind,
                    const std::string& correction_sop, double now);
  std::vector<JobRow> query_jobs(const std::string& where, const std::string& arg, int limit);
  std::vector<OutboxRow> query_outbox(const std::string& where, const std::string& arg, int limit);
  std::vector<StudyRow> query_studies(const std::string& where, const std::string& arg, int limit,
                                      const std::string& order = "");
  std::string lead_of(const std::string& study_uid);  // inside the caller's lock

  std::mutex mutex_;
  std::unique_ptr<pg::Connection> db_;
};

}  // namespace livernode::node
