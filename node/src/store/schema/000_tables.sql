-- The tables as this release writes them, created when missing at every start (a new database
-- gets them whole; older ones keep theirs and the numbered steps add what they lack).
CREATE TABLE IF NOT EXISTS studies (
  study_uid TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  first_arrival REAL NOT NULL,
  last_arrival REAL NOT NULL,
  instances INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  calling_ae TEXT NOT NULL DEFAULT '',
  state_changed_at REAL NOT NULL,
  visit_uid TEXT NOT NULL DEFAULT '',
  accession_number TEXT NOT NULL DEFAULT '',
  study_date TEXT NOT NULL DEFAULT '',
  study_time TEXT NOT NULL DEFAULT '',
  modality TEXT NOT NULL DEFAULT '',
  study_description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS series (
  series_uid TEXT PRIMARY KEY,
  study_uid TEXT NOT NULL,
  modality TEXT NOT NULL DEFAULT '',
  body_part TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  rule TEXT NOT NULL DEFAULT '',
  instances INTEGER NOT NULL DEFAULT 0,
  first_arrival REAL NOT NULL,
  last_arrival REAL NOT NULL,
  complete INTEGER NOT NULL DEFAULT 0,
  frame_of_reference_uid TEXT NOT NULL DEFAULT '',
  study_date TEXT NOT NULL DEFAULT '',
  acquisition_time TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS series_by_study ON series(study_uid);
CREATE TABLE IF NOT EXISTS instances (
  sop_instance_uid TEXT PRIMARY KEY,
  sop_class_uid TEXT NOT NULL,
  study_uid TEXT NOT NULL,
  series_uid TEXT NOT NULL,
  transfer_syntax_uid TEXT NOT NULL,
  path TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  calling_ae TEXT NOT NULL,
  peer_address TEXT NOT NULL,
  patient_id TEXT NOT NULL DEFAULT '',
  received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_study ON instances(study_uid);
-- The patient of each study, kept after the study is purged so that a later study of the
-- patient can say that the earlier results were purged.
CREATE TABLE IF NOT EXISTS study_patients (
  study_uid TEXT PRIMARY KEY,
  patient_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS study_patients_by_patient ON study_patients(patient_id);
INSERT OR IGNORE INTO study_patients(study_uid, patient_id)
  SELECT study_uid, MAX(patient_id) FROM instances WHERE patient_id != '' GROUP BY study_uid;
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  study_uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_at REAL NOT NULL,
  started_at REAL NOT NULL DEFAULT 0,
  finished_at REAL NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  result_dir TEXT NOT NULL DEFAULT '',
  objects INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL DEFAULT 'analysis',
  correction_sop TEXT NOT NULL DEFAULT '',
  UNIQUE(study_uid, version)
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  study_uid TEXT NOT NULL,
  destination TEXT NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sop_class_uid TEXT NOT NULL,
  sop_instance_uid TEXT NOT NULL,
  transfer_syntax_uid TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  delivered_at REAL NOT NULL DEFAULT 0,
  UNIQUE(job_id, destination, sop_instance_uid)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
