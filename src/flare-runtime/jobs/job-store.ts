import { createHash, randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { openSqliteStore, writeTransaction } from "../../core/sqlite-store.ts";
import type { JsonValue } from "./job-meta.ts";
import {
  type Checkpoint,
  JOB_COLUMNS,
  type JobFilter,
  type JobRecord,
  type JobRow,
  type NewJob,
  toRecord,
} from "./job-record.ts";
import { assertTransition, isFinished, type JobStatus } from "./job-status.ts";
import { SCHEMA, SCHEMA_VERSION } from "./job-store-schema.ts";

export interface JobStoreOptions {
  /**
   * SQLite's `synchronous` in WAL mode. Default FULL: every commit is fsynced, so a status or a
   * checkpoint survives even a power cut; the store commits a few times per round, so the cost
   * (about a millisecond a commit) is nothing. NORMAL survives a killed process too, but a
   * crashed machine may lose the last commits (never the database's consistency).
   */
  synchronous?: "FULL" | "NORMAL";
  /** Checkpoints kept per job, the newest; default 2 (the latest and one to fall back on). */
  keepCheckpoints?: number;
  /** The clock for timestamps; default `() => new Date()`. */
  now?: () => Date;
}

/**
 * The server's record of every job, in one SQLite file (WAL mode), so a killed server restarts
 * knowing what was submitted, what was running and from which round to resume. Every change
 * that touches more than one row or checks before it writes runs in one transaction; status
 * changes follow `job-status.ts` and refuse an illegal move. Bundles are stored once per hash.
 *
 * @example
 * const store = new JobStore("workspace/jobs.db");
 * const job = store.create({ meta, bundle, bundleSha256, submitter, submitterCertPem, signature });
 * store.setStatus(job.id, "RUNNING");
 */
export class JobStore {
  readonly #db: Database.Database;
  readonly #now: () => string;
  readonly #keep: number;

  constructor(path: string, options: JobStoreOptions = {}) {
    const clock = options.now ?? (() => new Date());
    this.#now = () => clock().toISOString();
    this.#keep = Math.max(1, options.keepCheckpoints ?? 2);
    this.#db = openSqliteStore(path, {
      what: "job store",
      schema: SCHEMA,
      version: SCHEMA_VERSION,
      foreignKeys: true,
      ...(options.synchronous ? { synchronous: options.synchronous } : {}),
    });
  }

  /** Stores a new job as SUBMITTED with its bundle, in one transaction. */
  create(job: NewJob): JobRecord {
    const actual = createHash("sha256").update(job.bundle).digest("hex");
    if (actual !== job.bundleSha256.toLowerCase()) {
      throw new FedbridgeError(
        Code.DataLoss,
        `job bundle hash mismatch: expected ${job.bundleSha256}, got ${actual}`,
      );
    }
    const id = job.id ?? randomUUID();
    writeTransaction(this.#db, () => {
      if (this.#row(id)) throw new FedbridgeError(Code.AlreadyExists, `job ${id} already exists`);
      this.#db
        .prepare("INSERT OR IGNORE INTO bundles (sha256, bytes) VALUES (?, ?)")
        .run(actual, Buffer.from(job.bundle.buffer, job.bundle.byteOffset, job.bundle.length));
      this.#db
        .prepare(
          `INSERT INTO jobs (id, name, meta, bundle_sha256, submitter_name, submitter_org,
             submitter_role, submitter_cert, signature, status, submitted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'SUBMITTED', ?)`,
        )
        .run(
          id,
          job.meta.name,
          JSON.stringify(job.meta),
          actual,
          job.submitter.name,
          job.submitter.org,
          job.submitter.role,
          job.submitterCertPem,
          job.signature,
          this.#now(),
        );
    });
    return this.#require(id);
  }

  get(id: string): JobRecord | undefined {
    const row = this.#row(id);
    return row && toRecord(row);
  }

  /** Jobs matching every given filter, oldest first. */
  list(filter: JobFilter = {}): JobRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.status !== undefined) {
      const statuses = typeof filter.status === "string" ? [filter.status] : filter.status;
      if (statuses.length === 0) return [];
      where.push(`status IN (${statuses.map(() => "?").join(", ")})`);
      args.push(...statuses);
    }
    for (const [column, value] of [
      ["submitter_name", filter.submitterName],
      ["submitter_org", filter.submitterOrg],
      ["name", filter.name],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      args.push(value);
    }
    const sql = `SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY seq DESC ${filter.limit !== undefined ? "LIMIT ?" : ""}`;
    if (filter.limit !== undefined) args.push(filter.limit);
    const rows = this.#db.prepare<unknown[], JobRow>(sql).all(...args);
    return rows.map(toRecord).reverse();
  }

  /** Jobs in any of `statuses`, oldest first: on restart, what to resume or schedule again. */
  jobsInStatus(...statuses: JobStatus[]): JobRecord[] {
    return this.list({ status: statuses });
  }

  /** The bundle a job was submitted with. */
  bundle(id: string): Uint8Array {
    const row = this.#db
      .prepare<[string], { bytes: Buffer }>(
        "SELECT b.bytes FROM jobs j JOIN bundles b ON b.sha256 = j.bundle_sha256 WHERE j.id = ?",
      )
      .get(id);
    if (!row) throw notFound(id);
    return new Uint8Array(row.bytes.buffer, row.bytes.byteOffset, row.bytes.length);
  }

  /**
   * Moves a job to `status` (legal moves only: `job-status.ts`), stamping startedAt or
   * finishedAt, with an optional reason and result, all in one transaction.
   */
  setStatus(
    id: string,
    status: JobStatus,
    details: { reason?: string; result?: JsonValue } = {},
  ): JobRecord {
    writeTransaction(this.#db, () => {
      const current = this.#require(id);
      assertTransition(id, current.status, status);
      const now = this.#now();
      this.#db
        .prepare(
          `UPDATE jobs SET status = ?,
             started_at = CASE WHEN ? = 'RUNNING' THEN ? ELSE started_at END,
             finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
             reason = COALESCE(?, reason), result = COALESCE(?, result)
           WHERE id = ?`,
        )
        .run(
          status,
          status,
          now,
          isFinished(status) ? 1 : 0,
          now,
          details.reason ?? null,
          details.result === undefined ? null : JSON.stringify(details.result),
          id,
        );
    });
    return this.#require(id);
  }

  /** Stores a job's result (any JSON); refused once the job is finished. */
  setResult(id: string, result: JsonValue): void {
    this.#update(id, "set the result of", "result = ?", JSON.stringify(result));
  }

  /** Records the last completed round of a running job (it may go back after a resume). */
  recordRound(id: string, round: number): void {
    checkRound(round);
    this.#update(id, "record a round of", "last_round = ?", round, "RUNNING");
  }

  /**
   * Saves a running job's state after `round` and records the round, in one transaction, so a
   * restarted server never sees a round without its checkpoint; keeps the newest
   * `keepCheckpoints`.
   */
  saveCheckpoint(id: string, round: number, state: Uint8Array): void {
    checkRound(round);
    writeTransaction(this.#db, () => {
      this.#update(id, "checkpoint", "last_round = ?", round, "RUNNING");
      this.#db
        .prepare(
          "INSERT OR REPLACE INTO checkpoints (job_id, round, state, saved_at) VALUES (?, ?, ?, ?)",
        )
        .run(id, round, Buffer.from(state.buffer, state.byteOffset, state.length), this.#now());
      this.#db
        .prepare(
          `DELETE FROM checkpoints WHERE job_id = ? AND round NOT IN
             (SELECT round FROM checkpoints WHERE job_id = ? ORDER BY seq DESC LIMIT ?)`,
        )
        .run(id, id, this.#keep);
    });
  }

  /** The checkpoint saved last for a job (after a resume, not always the highest round). */
  latestCheckpoint(id: string): Checkpoint | undefined {
    const row = this.#db
      .prepare<[string], { round: number; state: Buffer; saved_at: string }>(
        `SELECT round, state, saved_at FROM checkpoints WHERE job_id = ?
         ORDER BY seq DESC LIMIT 1`,
      )
      .get(id);
    if (!row) return undefined;
    const state = new Uint8Array(row.state.buffer, row.state.byteOffset, row.state.length);
    return { round: row.round, state, savedAt: row.saved_at };
  }

  close(): void {
    this.#db.close();
  }

  /** One column update, checked against the job's status in the same transaction. */
  #update(id: string, what: string, set: string, value: string | number, only?: JobStatus): void {
    writeTransaction(this.#db, () => {
      const { status } = this.#require(id);
      if (only ? status !== only : isFinished(status)) {
        throw new FedbridgeError(
          Code.FailedPrecondition,
          `cannot ${what} job ${id}: it is ${status}${only ? `, not ${only}` : ""}`,
        );
      }
      this.#db.prepare(`UPDATE jobs SET ${set} WHERE id = ?`).run(value, id);
    });
  }

  #row(id: string): JobRow | undefined {
    return this.#db
      .prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`)
      .get(id);
  }

  #require(id: string): JobRecord {
    const row = this.#row(id);
    if (!row) throw notFound(id);
    return toRecord(row);
  }
}

function checkRound(round: number): void {
  if (!Number.isSafeInteger(round) || round < 0)
    throw new FedbridgeError(Code.InvalidArgument, `round must be an integer ≥ 0, got ${round}`);
}

function notFound(id: string): FedbridgeError {
  return new FedbridgeError(Code.NotFound, `no job ${id}`);
}
