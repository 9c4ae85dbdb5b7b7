#pragma once
// The embedded StateStore: one SQLite file in WAL mode with synchronous=FULL, so a committed
// row survives a crash or power loss. One writing connection, serialised by a mutex, and a
// read-only one for the duplicate check of the receiving path.
#include <filesystem>
#include <memory>
#include <mutex>

#include "livernode/node/store/state_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace livernode::node {

class SqliteStateStore : public StateStore {
 public:
  // Opens (creating when absent) the database and its tables. Throws StateStoreError.
  explicit SqliteStateStore(const std::filesystem::path& file);
  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

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
  // The schema version of the database file (PRAGMA user_version).
  int schema_version();

 private:
  class Statement;
  void exec(const char* sql);
  // Brings a database written by an earlier version up to this one's schema (throws for one
  // written by a later version). `fresh`: the file was empty.
  void migrate(bool fresh);
  std::vector<std::int64_t> insert_outbox(const std::vector<OutboxRow>& rows);  // in a transaction
  JobRow insert_job(const std::string& study_uid, const std::string& kind,
                    const std::string& correction_sop, double now);
  std::vector<JobRow> query_jobs(const std::string& where, const std::string& arg, int limit);
  std::vector<OutboxRow> query_outbox(const std::string& where, const std::string& arg, int limit);
  std::vector<StudyRow> query_studies(const std::string& where, const std::string& arg, int limit,
                                      const std::string& order = "");
  std::string lead_of(const std::string& study_uid);  // inside the caller's lock

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  // A second, read-only connection for the duplicate check on the receiving path, which then
  // does not wait for a write in progress on db_ (WAL lets readers run beside the writer).
  std::mutex reader_mutex_;
  sqlite3* reader_ = nullptr;
  // Statements of the receiving path, prepared once (finalised before the connections close).
  sqlite3_stmt* lookup_ = nullptr;           // on reader_
  sqlite3_stmt* insert_instance_ = nullptr;  // on db_, the others too
  sqlite3_stmt* insert_study_patient_ = nullptr;
  sqlite3_stmt* upsert_series_ = nullptr;
  sqlite3_stmt* upsert_study_ = nullptr;
  std::filesystem::path file_;
};

}  // namespace livernode::node
