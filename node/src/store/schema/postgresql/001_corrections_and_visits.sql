-- Schema version 1: corrections and visits (a study without a visit is its own visit).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT 'analysis';
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS correction_sop TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN IF NOT EXISTS visit_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN IF NOT EXISTS frame_of_reference_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN IF NOT EXISTS study_date TEXT NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN IF NOT EXISTS acquisition_time TEXT NOT NULL DEFAULT '';
