/** Bumped with every change to `SCHEMA`; a store written by a newer fedbridge is refused. */
export const SCHEMA_VERSION = 1;

/**
 * The job store's tables. `seq` orders rows as they were written, independent of clocks.
 * Bundles are content-addressed, so a job submitted twice stores its bytes once; listing jobs
 * never reads them. Checkpoints belong to a job and go with it.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS bundles (
  sha256 TEXT PRIMARY KEY,
  bytes BLOB NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  meta TEXT NOT NULL,
  bundle_sha256 TEXT NOT NULL REFERENCES bundles (sha256),
  submitter_name TEXT NOT NULL,
  submitter_org TEXT NOT NULL,
  submitter_role TEXT NOT NULL,
  submitter_cert TEXT NOT NULL,
  signature TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('SUBMITTED', 'RUNNING', 'FINISHED:COMPLETED',
    'FINISHED:ABORTED', 'FINISHED:FAILED', 'FINISHED:CAN_NOT_SCHEDULE')),
  submitted_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  reason TEXT,
  last_round INTEGER,
  result TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);

CREATE TABLE IF NOT EXISTS checkpoints (
  seq INTEGER PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  round INTEGER NOT NULL,
  state BLOB NOT NULL,
  saved_at TEXT NOT NULL,
  UNIQUE (job_id, round)
) STRICT;
`;
