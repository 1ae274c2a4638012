import type { JobMeta, JsonValue } from "./job-meta.ts";
import type { JobStatus } from "./job-status.ts";

/** Who submitted a job, from their admin certificate. */
export interface Submitter {
  name: string;
  org: string;
  role: string;
}

/** What `create` needs. */
export interface NewJob {
  /** Default: a random UUID. */
  id?: string;
  meta: JobMeta;
  /** The job folder, packed (`packFolder`). */
  bundle: Uint8Array;
  /** Hex SHA-256 of `bundle`, as signed; checked against the bytes. */
  bundleSha256: string;
  submitter: Submitter;
  submitterCertPem: string;
  /** The submitter's signature of `bundleSha256` (`signBundle`). */
  signature: string;
}

/** One job as stored. Times are ISO 8601 strings. */
export interface JobRecord {
  id: string;
  name: string;
  meta: JobMeta;
  bundleSha256: string;
  submitter: Submitter;
  submitterCertPem: string;
  signature: string;
  status: JobStatus;
  submittedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why the job ended as it did, or why it is still waiting. */
  reason?: string;
  /** The last round the job completed. */
  lastRound?: number;
  result?: JsonValue;
}

export interface JobFilter {
  status?: JobStatus | readonly JobStatus[];
  submitterName?: string;
  submitterOrg?: string;
  name?: string;
  /** The newest this many; default all. */
  limit?: number;
}

/** A saved job state: what a restarted server resumes from. */
export interface Checkpoint {
  round: number;
  state: Uint8Array;
  savedAt: string;
}

/** A `jobs` row as SQLite returns it (job-store-schema.ts). */
export interface JobRow {
  id: string;
  name: string;
  meta: string;
  bundle_sha256: string;
  submitter_name: string;
  submitter_org: string;
  submitter_role: string;
  submitter_cert: string;
  signature: string;
  status: JobStatus;
  submitted_at: string;
  started_at: string | null;
  finished_at: string | null;
  reason: string | null;
  last_round: number | null;
  result: string | null;
}

/** Every `jobs` column but `seq`, in `JobRow` order. */
export const JOB_COLUMNS = `id, name, meta, bundle_sha256, submitter_name, submitter_org, submitter_role,
  submitter_cert, signature, status, submitted_at, started_at, finished_at, reason, last_round, result`;

/** A row as the record the store hands out, with absent columns left out. */
export function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    name: row.name,
    meta: JSON.parse(row.meta) as JobMeta,
    bundleSha256: row.bundle_sha256,
    submitter: { name: row.submitter_name, org: row.submitter_org, role: row.submitter_role },
    submitterCertPem: row.submitter_cert,
    signature: row.signature,
    status: row.status,
    submittedAt: row.submitted_at,
    ...(row.started_at !== null ? { startedAt: row.started_at } : {}),
    ...(row.finished_at !== null ? { finishedAt: row.finished_at } : {}),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    ...(row.last_round !== null ? { lastRound: row.last_round } : {}),
    ...(row.result !== null ? { result: JSON.parse(row.result) as JsonValue } : {}),
  };
}
