-- Schema version 3: several nodes on one state. A running job and a delivery being sent carry
-- the node that holds them and until when (a lease its heartbeat renews); every node leaves
-- its last heartbeat in `nodes`.
-- An ADD COLUMN whose column is already there is skipped.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_expires_at REAL NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claim_expires_at REAL NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS nodes (
  name TEXT PRIMARY KEY,
  started_at REAL NOT NULL,
  last_heartbeat REAL NOT NULL,
  version TEXT NOT NULL DEFAULT '',
  ae_title TEXT NOT NULL DEFAULT '',
  dicom_port INTEGER NOT NULL DEFAULT 0
);
