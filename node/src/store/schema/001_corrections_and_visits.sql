-- Schema version 1: corrections and visits (a study without a visit is its own visit).
-- An ADD COLUMN whose column is already there is skipped.
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'analysis';
ALTER TABLE jobs ADD COLUMN correction_sop TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN visit_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN frame_of_reference_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN study_date TEXT NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN acquisition_time TEXT NOT NULL DEFAULT '';
