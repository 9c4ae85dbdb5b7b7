#pragma once
// The rows of the state store as every backend reads them: the column lists of the queries and
// the decoding of one result row into its struct. `R` is a backend's row accessor with
// text(i), integer(i) and real(i) (the SQLite Statement, a PostgreSQL pg::Row).
#include <string>

#include "livernode/node/store/state_store.h"

namespace livernode::node::rows {

// Studies with their series, analysed series and job counts, and the lead study of their visit.
// The lead is named: a CASE would take the name study_uid of its ELSE, and an ORDER BY
// study_uid would be ambiguous.
constexpr const char* kStudyColumns =
    "SELECT study_uid, state, first_arrival, last_arrival, instances, bytes, calling_ae, "
    "state_changed_at, "
    "(SELECT COUNT(*) FROM series WHERE series.study_uid=studies.study_uid), "
    "(SELECT COUNT(*) FROM series WHERE series.study_uid=studies.study_uid AND "
    "action='analyse'), "
    "(SELECT COUNT(*) FROM jobs WHERE jobs.study_uid=studies.study_uid), "
    "CASE WHEN visit_uid<>'' THEN visit_uid ELSE study_uid END AS lead_study, "
    "accession_number, study_date, study_time, modality, study_description "
    "FROM studies ";

constexpr const char* kSeriesColumns =
    "SELECT series_uid, study_uid, modality, body_part, description, action, rule, instances, "
    "first_arrival, last_arrival, complete, frame_of_reference_uid, study_date, acquisition_time "
    "FROM series ";

constexpr const char* kJobColumns =
    "SELECT id, study_uid, version, state, created_at, started_at, finished_at, error, result_dir, "
    "objects, attempts, kind, correction_sop, lease_owner, lease_expires_at FROM jobs ";

// The outbox's columns as outbox_row() reads them (also for RETURNING).
#define LIVERNODE_OUTBOX_FIELDS                                                                   \
  "id, job_id, study_uid, destination, kind, path, sop_class_uid, sop_instance_uid, "             \
  "transfer_syntax_uid, state, attempts, next_attempt_at, last_error, created_at, delivered_at, " \
  "claimed_by, claim_expires_at "
constexpr const char* kOutboxColumns = "SELECT " LIVERNODE_OUTBOX_FIELDS "FROM outbox ";

constexpr const char* kNodeColumns =
    "SELECT name, started_at, last_heartbeat, version, ae_title, dicom_port FROM nodes ";

// The state named `text` by `from_string`; a state store error for a name this version does not
// know (a database written by another version, or edited by hand).
template <class Parse>
auto known_state(Parse from_string, const std::string& text, const char* what,
                 const std::string& which) {
  const auto known = from_string(text);
  if (!known)
    throw StateStoreError(std::string("state store: ") + what + " " + which +
                          " has the unknown state '" + text + "'");
  return *known;
}

template <class R>
StudyRow study_row(const R& s) {
  StudyRow r;
  r.study_uid = s.text(0);
  r.state = known_state(study_state_from_string, s.text(1), "study", r.study_uid);
  r.first_arrival = s.real(2);
  r.last_arrival = s.real(3);
  r.instances = s.integer(4);
  r.bytes = s.integer(5);
  r.calling_ae = s.text(6);
  r.state_changed_at = s.real(7);
  r.series = s.integer(8);
  r.analysed_series = s.integer(9);
  r.job_versions = s.integer(10);
  r.visit_uid = s.text(11);
  r.accession_number = s.text(12);
  r.study_date = s.text(13);
  r.study_time = s.text(14);
  r.modality = s.text(15);
  r.study_description = s.text(16);
  return r;
}

template <class R>
SeriesRow series_row(const R& s) {
  SeriesRow r;
  r.series_uid = s.text(0);
  r.study_uid = s.text(1);
  r.modality = s.text(2);
  r.body_part = s.text(3);
  r.description = s.text(4);
  r.action = series_action_from_string(s.text(5));
  r.rule = s.text(6);
  r.instances = s.integer(7);
  r.first_arrival = s.real(8);
  r.last_arrival = s.real(9);
  r.complete = s.integer(10) != 0;
  r.frame_of_reference_uid = s.text(11);
  r.study_date = s.text(12);
  r.acquisition_time = s.text(13);
  return r;
}

template <class R>
JobRow job_row(const R& s) {
  JobRow r;
  r.id = s.integer(0);
  r.study_uid = s.text(1);
  r.version = static_cast<int>(s.integer(2));
  r.state = known_state(job_state_from_string, s.text(3), "job", std::to_string(r.id));
  r.created_at = s.real(4);
  r.started_at = s.real(5);
  r.finished_at = s.real(6);
  r.error = s.text(7);
  r.result_dir = s.text(8);
  r.objects = s.integer(9);
  r.attempts = static_cast<int>(s.integer(10));
  r.kind = s.text(11);
  r.correction_sop = s.text(12);
  r.node = s.text(13);
  r.lease_expires_at = s.real(14);
  return r;
}

template <class R>
OutboxRow outbox_row(const R& s) {
  OutboxRow r;
  r.id = s.integer(0);
  r.job_id = s.integer(1);
  r.study_uid = s.text(2);
  r.destination = s.text(3);
  r.kind = s.text(4);
  r.path = s.text(5);
  r.sop_class_uid = s.text(6);
  r.sop_instance_uid = s.text(7);
  r.transfer_syntax_uid = s.text(8);
  r.state = known_state(delivery_state_from_string, s.text(9), "delivery", std::to_string(r.id));
  r.attempts = static_cast<int>(s.integer(10));
  r.next_attempt_at = s.real(11);
  r.last_error = s.text(12);
  r.created_at = s.real(13);
  r.delivered_at = s.real(14);
  r.claimed_by = s.text(15);
  r.claim_expires_at = s.real(16);
  return r;
}

template <class R>
NodeRow node_row(const R& s) {
  NodeRow r;
  r.name = s.text(0);
  r.started_at = s.real(1);
  r.last_heartbeat = s.real(2);
  r.version = s.text(3);
  r.ae_title = s.text(4);
  r.dicom_port = static_cast<int>(s.integer(5));
  return r;
}

}  // namespace livernode::node::rows
