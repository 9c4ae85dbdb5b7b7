#pragma once
// The node's durable state: which instances arrived, how studies progress, which analysis jobs
// ran and which result deliveries are pending. An abstract interface so that a server database
// can replace the embedded SQLite implementation (sqlite_state_store.h) for large sites.
//
// Every method is safe to call from several threads at once. Times are seconds since the Unix
// epoch (wall clock), so they survive a restart. Methods throw StateStoreError when the
// database fails; callers treat that as "not stored" (never acknowledge on a throw).
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "livernode/node/error.h"

namespace livernode::node {

// The database failed (kStorage).
class StateStoreError : public NodeError {
 public:
  explicit StateStoreError(const std::string& message)
      : NodeError(NodeErrorKind::kStorage, message) {}
};

// What routing decided for a series. A correction is a SEG that corrects an analysed study (it
// queues a correction job of that study); a derived series (our own result echoed back, a SEG
// that corrects nothing of a known study) is kept without reopening its study.
enum class SeriesAction { analyse, ignore, unrouted, correction, derived };
const char* to_string(SeriesAction action);
SeriesAction series_action_from_string(const std::string& text);

struct InstanceRecord {
  std::string sop_instance_uid;
  std::string sop_class_uid;
  std::string study_uid;
  std::string series_uid;
  std::string transfer_syntax_uid;
  std::string path;  // absolute path of the spool file
  std::int64_t size_bytes = 0;
  std::string calling_ae;
  std::string peer_address;
  std::string modality;
  std::string body_part;
  std::string series_description;
  std::string patient_id;
  // What places the series in a visit (see visits.h): recorded with the series' first instance.
  std::string frame_of_reference_uid;
  std::string study_date;        // DA
  std::string acquisition_time;  // TM: AcquisitionTime, else SeriesTime, else ContentTime
  // The study's header as the admin page lists it (kept from the study's first instance that
  // has them). Identifying: logged at debug level only.
  std::string accession_number;
  std::string study_time;  // TM
  std::string study_description;
  SeriesAction action = SeriesAction::unrouted;  // routing decision for its series
  std::string rule;                              // name of the rule that decided, if any
  double received_at = 0;
  // action correction: the analysed study it corrects. record_instance queues, in the same
  // transaction, that study's next job version with kind "correction" and this instance as
  // correction_sop: the analysis re-run with the SEG's segments taking precedence. (A study
  // receiving new images is left to its completion timer.)
  std::string corrects_study;
};

// Study states: receiving -> queued (a job version exists) -> running -> done | failed;
// receiving -> stored (no series is analysed); stored, done or failed -> purged (retention). A
// new series (or instance) reopens a study to receiving.
enum class StudyState { receiving, stored, queued, running, done, failed, purged };
// The state's name, as the state database, the API and the metrics give it.
const char* to_string(StudyState state);
// The state named `text`; none for any other text.
std::optional<StudyState> study_state_from_string(const std::string& text);
std::ostream& operator<<(std::ostream& out, StudyState state);

//
// Visits: the studies of one examination (one patient, the phases of one acquisition, which some
// archives file under several StudyInstanceUIDs) form one visit, named by its lead study. The
// lead study owns the visit's job versions; each job analyses the series of every study of the
// visit, and every study of the visit follows the state of the lead's jobs.
struct StudyRow {
  std::string study_uid;
  // The lead study of its visit (itself when alone or the lead; empty until the tracker has
  // placed it, which counts as itself).
  std::string visit_uid;
  StudyState state = StudyState::receiving;
  double first_arrival = 0;
  double last_arrival = 0;
  std::int64_t instances = 0;
  std::int64_t series = 0;
  std::int64_t bytes = 0;
  std::int64_t analysed_series = 0;  // series routed to analysis
  std::int64_t job_versions = 0;
  std::string calling_ae;
  double state_changed_at = 0;
  // From the header of the study's first instance (empty for studies received before the node
  // kept them, and for headers without them).
  std::string accession_number;
  std::string study_date;  // DA, YYYYMMDD
  std::string study_time;  // TM, HHMMSS.FFFFFF
  std::string modality;
  std::string study_description;
};

struct SeriesRow {
  std::string series_uid;
  std::string study_uid;
  std::string modality;
  std::string body_part;
  std::string description;
  SeriesAction action = SeriesAction::unrouted;
  std::string rule;
  std::int64_t instances = 0;
  double first_arrival = 0;
  double last_arrival = 0;
  bool complete = false;  // quiet for series_quiet_s
  std::string frame_of_reference_uid;
  std::string study_date;
  std::string acquisition_time;
};

// Job states: queued -> running -> done | failed (a running job whose node stopped is queued
// again).
enum class JobState { queued, running, done, failed };
const char* to_string(JobState state);  // as the state database, the API and the metrics name it
std::optional<JobState> job_state_from_string(const std::string& text);  // none: unknown
std::ostream& operator<<(std::ostream& out, JobState state);

struct JobRow {
  std::int64_t id = 0;
  std::string study_uid;
  int version = 0;
  JobState state = JobState::queued;
  double created_at = 0;
  double started_at = 0;
  double finished_at = 0;
  std::string error;
  std::string result_dir;
  std::int64_t objects = 0;
  int attempts = 0;               // times the job was started (a restart re-queues a running job)
  std::string kind = "analysis";  // analysis | correction
  std::string correction_sop;     // correction: the SOP Instance UID of the correcting SEG
  // The node running it (node.name; kept once the job ended: the node that ran it) and until
  // when that node holds it unless its heartbeat renews the lease.
  std::string node;
  double lease_expires_at = 0;
  // claim_next_job: the node whose lease ran out when this one took the job over (else empty).
  std::string previous_node;
};

// Outbox states: pending -> delivered | dead (after the last failed attempt); a dead row can be
// re-queued (pending).
enum class DeliveryState { pending, delivered, dead };
const char* to_string(DeliveryState state);
std::optional<DeliveryState> delivery_state_from_string(const std::string& text);
std::ostream& operator<<(std::ostream& out, DeliveryState state);

struct OutboxRow {
  std::int64_t id = 0;
  std::int64_t job_id = 0;
  std::string study_uid;
  std::string destination;
  std::string kind;  // seg | sr | summary | pdf
  std::string path;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string transfer_syntax_uid;
  DeliveryState state = DeliveryState::pending;
  int attempts = 0;
  double next_attempt_at = 0;
  std::string last_error;
  double created_at = 0;
  double delivered_at = 0;
  // The node sending it right now, and until when it holds it (empty when no node does).
  std::string claimed_by;
  double claim_expires_at = 0;
};

// A node working on the state (its heartbeat row).
struct NodeRow {
  std::string name;
  double started_at = 0;
  double last_heartbeat = 0;
  std::string version;
  std::string ae_title;
  int dicom_port = 0;
};

// Who claims a job or a delivery: the node (node.name) and how long its claim lasts unless
// renewed by heartbeat().
struct Claimant {
  std::string node;
  double lease_s = 3600;
};

struct StoreCounts {
  std::map<std::string, std::int64_t> jobs_by_state;
  std::map<std::string, std::int64_t> outbox_by_state;
  // destination -> state -> deliveries
  std::map<std::string, std::map<std::string, std::int64_t>> outbox_by_destination;
  std::map<std::string, std::int64_t> studies_by_state;
  std::int64_t instances = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // --- instances -------------------------------------------------------------------------
  // The spool path of an instance already stored, if any.
  virtual std::optional<std::string> instance_path(const std::string& sop_instance_uid) = 0;
  // The SOP Instance UIDs recorded for a study: the spool walk at start-up asks once per study
  // folder instead of once per file (a shared spool is walked by every node as it starts).
  virtual std::set<std::string> instances_of_study(const std::string& study_uid) = 0;
  // Records a stored instance and updates its series and study (a study that was queued,
  // done, failed or stored goes back to receiving, except for correction and derived
  // instances, which leave the state of an existing study alone). Returns false when the SOP
  // Instance UID was already recorded (nothing changes then).
  virtual bool record_instance(const InstanceRecord& instance) = 0;

  // --- studies and series ----------------------------------------------------------------
  // Newest first (by first arrival); all states when `state` is none.
  virtual std::vector<StudyRow> studies(std::optional<StudyState> state = std::nullopt,
                                        int limit = 1000) = 0;
  virtual std::optional<StudyRow> study(const std::string& study_uid) = 0;
  virtual std::vector<SeriesRow> series_of(const std::string& study_uid) = 0;
  virtual std::optional<SeriesRow> series_by_uid(const std::string& series_uid) = 0;
  // The series of a recorded instance.
  virtual std::optional<std::string> series_of_instance(const std::string& sop_instance_uid) = 0;
  // Marks series of receiving studies quiet since `before` as complete; returns them.
  virtual std::vector<SeriesRow> complete_quiet_series(double before) = 0;
  virtual void set_study_state(const std::string& study_uid, StudyState state, double now) = 0;
  // Removes a study's instances and series (after its files were deleted); the study row stays
  // with state "purged".
  virtual void purge_study(const std::string& study_uid, double now) = 0;

  // --- visits -----------------------------------------------------------------------------
  // The lead study of the visit of `study_uid` (itself when it has none or is unknown).
  virtual std::string visit_of(const std::string& study_uid) = 0;
  // Every study of the visit led by `visit_uid`, the lead first, then by first arrival.
  virtual std::vector<StudyRow> studies_of_visit(const std::string& visit_uid) = 0;
  // The studies with the same PatientID as `study_uid` that can still join a visit (neither
  // stored nor purged), `study_uid` itself always included; only itself when it has no
  // PatientID.
  virtual std::vector<StudyRow> studies_of_same_patient(const std::string& study_uid) = 0;
  // Places the studies in the visit led by `visit_uid`, in one transaction.
  virtual void set_visit(const std::vector<std::string>& study_uids,
                         const std::string& visit_uid) = 0;

  // --- jobs -------------------------------------------------------------------------------
  // Jobs belong to the lead study of a visit: create_job and a correction's job go to the lead
  // of the given study's visit; claiming and ending a job move every study of its visit.
  // Creates the next job version of a study and sets the study to queued, atomically.
  virtual JobRow create_job(const std::string& study_uid, double now) = 0;
  // The study tracker's decision that a visit is complete, taken once however many nodes
  // share the state: creates the next job version of the visit of `study_uid` (as create_job)
  // only while a study of it is still receiving and every receiving study of it is quiet (its
  // last instance at or before `quiet_before`) or one of them first arrived at or before
  // `forced_before`; none otherwise (another node decided first, or an instance arrived since).
  virtual std::optional<JobRow> create_job_if_ready(const std::string& study_uid, double now,
                                                    double quiet_before, double forced_before) = 0;
  // Takes the oldest queued job whose study has no running job and marks it running, held by
  // `by.node` until now + by.lease_s; nullopt when there is none. On a state shared by several
  // nodes (PostgreSQL) a running job whose lease ran out (its node died) is taken over too, and
  // counts as a new attempt. SQLite serves one node: its running jobs are its own.
  virtual std::optional<JobRow> claim_next_job(double now, const Claimant& by = {}) = 0;
  // Ends a running job as done or failed. The study follows (unless it reopened).
  // `outbox` rows (the job's deliveries) are added in the same transaction: a job is never
  // done without its deliveries, and never has deliveries while it can still be run again
  // (a re-run writes new result objects over the old files). With `node` set, only while that
  // node still holds the job: false (and nothing written) when its lease ran out and another
  // node took the job over, whose result set then is the only one.
  virtual bool finish_job(std::int64_t job_id, JobState state, const std::string& error,
                          const std::string& result_dir, std::int64_t objects, double now,
                          const std::vector<OutboxRow>& outbox = {},
                          const std::string& node = "") = 0;
  // At start-up: the jobs a previous process of node `node` left running go back to queued and
  // the deliveries it had claimed are released (empty `node`: every running job, as for SQLite,
  // which one node uses); returns how many jobs were running. Jobs of other live nodes are left
  // alone.
  virtual int requeue_unfinished_jobs(const std::string& node = "") = 0;
  virtual std::vector<JobRow> jobs(const std::string& study_uid = "", int limit = 1000) = 0;
  virtual std::optional<JobRow> job(std::int64_t job_id) = 0;
  // The newest done job of every other study with the same PatientID as `study_uid` (studies
  // purged since included: their study row says so), newest first.
  virtual std::vector<JobRow> analyses_of_same_patient(const std::string& study_uid,
                                                       int limit = 100) = 0;

  // --- outbox -----------------------------------------------------------------------------
  // Adds delivery rows (state pending, due now) in one transaction; returns their ids.
  virtual std::vector<std::int64_t> add_outbox(const std::vector<OutboxRow>& rows) = 0;
  // Pending rows due at `now`, oldest first.
  virtual std::vector<OutboxRow> due_outbox(double now, int limit) = 0;
  // Claims up to `limit` pending rows due at `now` for `by.node` until now + by.lease_s and
  // returns them, oldest first: rows no node holds, rows whose claim ran out (their node died
  // while sending) and rows this node holds already. Two nodes never hold one row at once.
  virtual std::vector<OutboxRow> claim_outbox(double now, int limit, const Claimant& by) = 0;
  // Renews the claim of `by.node` on row `id` until now + by.lease_s, just before the row is
  // sent; false when that node no longer holds it (its claim ran out while its heartbeat could
  // not renew it, and another node took the row): the row is then not sent.
  virtual bool renew_outbox_claim(std::int64_t id, double now, const Claimant& by) = 0;
  // Releases the rows `node` still holds without having sent them (the next pass of any node
  // takes them).
  virtual void release_outbox(const std::string& node) = 0;
  virtual std::optional<double> next_outbox_due() = 0;
  virtual void mark_delivered(std::int64_t id, double now) = 0;
  // Records a failed attempt: pending again at next_attempt_at, or dead when `dead`.
  virtual void mark_attempt_failed(std::int64_t id, const std::string& error,
                                   double next_attempt_at, bool dead) = 0;
  // A dead (or pending) row goes back to pending, due now, attempts reset. False if unknown.
  virtual bool requeue_outbox(std::int64_t id, double now) = 0;
  // Newest first; every state when `state` is none.
  virtual std::vector<OutboxRow> outbox(std::optional<DeliveryState> state = std::nullopt,
                                        int limit = 1000) = 0;
  // True when the node queued this SOP Instance UID for delivery (it is one of our results).
  virtual bool sent_instance(const std::string& sop_instance_uid) = 0;
  // Rows of a study (of its visit) still pending.
  virtual std::int64_t pending_outbox_of(const std::string& study_uid) = 0;

  // --- nodes ------------------------------------------------------------------------------
  // The heartbeat of a live node: records `node` as alive at `now` (started at `node.started_at`)
  // and renews, until now + lease_s, the leases of the jobs it runs and the deliveries it holds.
  virtual void heartbeat(const NodeRow& node, double now, double lease_s) = 0;
  // Every node that ever worked on this state, by name.
  virtual std::vector<NodeRow> nodes() = 0;

  // --- metrics ----------------------------------------------------------------------------
  virtual StoreCounts counts() = 0;
};

}  // namespace livernode::node
