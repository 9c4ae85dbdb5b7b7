-- Indexes on columns the numbered steps may have added, created when missing after them.
CREATE INDEX IF NOT EXISTS studies_by_visit ON studies(visit_uid);
CREATE INDEX IF NOT EXISTS studies_by_arrival ON studies(first_arrival);
