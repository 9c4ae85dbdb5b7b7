-- Schema version 2: the study's header, for the admin page and /api/studies.
-- An ADD COLUMN whose column is already there is skipped.
ALTER TABLE studies ADD COLUMN accession_number TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN study_date TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN study_time TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN modality TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN study_description TEXT NOT NULL DEFAULT '';
-- Studies received before: their date and modality from their series (the accession number
-- and description were not kept, and stay empty).
UPDATE studies SET
  study_date=COALESCE((SELECT study_date FROM series WHERE series.study_uid=studies.study_uid AND study_date<>'' ORDER BY first_arrival LIMIT 1),''),
  modality=COALESCE((SELECT modality FROM series WHERE series.study_uid=studies.study_uid AND modality<>'' ORDER BY first_arrival LIMIT 1),'')
  WHERE study_date='' AND modality='';
