-- Schema version 2: the study's header, for the admin page and /api/studies.
ALTER TABLE studies ADD COLUMN IF NOT EXISTS accession_number TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN IF NOT EXISTS study_date TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN IF NOT EXISTS study_time TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN IF NOT EXISTS modality TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN IF NOT EXISTS study_description TEXT NOT NULL DEFAULT '';
-- Studies recorded before: their date and modality from their series.
UPDATE studies SET
  study_date=COALESCE((SELECT s.study_date FROM series s WHERE s.study_uid=studies.study_uid AND s.study_date<>'' ORDER BY s.first_arrival LIMIT 1),''),
  modality=COALESCE((SELECT s.modality FROM series s WHERE s.study_uid=studies.study_uid AND s.modality<>'' ORDER BY s.first_arrival LIMIT 1),'')
  WHERE study_date='' AND modality='';
