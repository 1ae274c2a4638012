import { existsSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { openSqliteStore, writeTransaction } from "../core/sqlite-store.ts";
import { checkTrackingEvent, type ScalarEvent } from "./tracking-event.ts";

/** The store's file name in a server workspace: `<workspace>/tracking.db`. */
export const TRACKING_STORE_FILE = "tracking.db";

/** Where a server workspace keeps its tracking store. */
export function trackingStorePath(workspace: string): string {
  return join(workspace, TRACKING_STORE_FILE);
}

/** A scalar to record: a scalar event of a job, from a site ("server" when it has none). */
export type JobScalarEvent = ScalarEvent & { job: string };

/** A stored scalar. */
export interface StoredScalar {
  job: string;
  site: string;
  tag: string;
  step: number;
  value: number;
  /** Seconds since the Unix epoch. */
  wallTime: number;
}

export interface TrackingStoreOptions {
  /**
   * SQLite's `synchronous` in WAL mode. Default FULL: every commit is fsynced, so recorded
   * scalars survive a power cut as well as a killed process; commits come in batches (a round's
   * metrics at a time), so the cost is a millisecond now and then.
   */
  synchronous?: "FULL" | "NORMAL";
  /** Refuse to create the file (for readers such as `fedbridge tracking show`); default false. */
  mustExist?: boolean;
}

/** Bumped with every change to SCHEMA; a store written by a newer fedbridge is refused. */
const SCHEMA_VERSION = 1;

/**
 * One row per (job, site, tag, step): a resumed job that logs a round again replaces it rather
 * than doubling it. The (job, tag, step) index serves a dashboard's plot of one tag.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS scalars (
  seq INTEGER PRIMARY KEY,
  job TEXT NOT NULL,
  site TEXT NOT NULL,
  tag TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL NOT NULL,
  wall_time REAL NOT NULL,
  UNIQUE (job, site, tag, step)
) STRICT;
CREATE INDEX IF NOT EXISTS scalars_job_tag_step ON scalars (job, tag, step);
`;

/**
 * Every scalar of every job, in one SQLite file (WAL mode, synchronous FULL), so metrics
 * outlive the processes that logged them: rows committed by `record` survive a SIGKILL of the
 * writer. Readers (the CLI, a dashboard) open the same file while a server writes it.
 *
 * @example
 * const store = new TrackingStore(trackingStorePath(workspace));
 * store.record([{ kind: "scalar", job, site: "site-1", tag: "train/loss", step: 3, value: 0.2, wallTime }]);
 * store.scalars(job, { tag: "train/loss" });
 */
export class TrackingStore {
  readonly #db: Database.Database;

  constructor(path: string, options: TrackingStoreOptions = {}) {
    if (options.mustExist && path !== ":memory:" && !existsSync(path)) {
      throw new FedbridgeError(Code.NotFound, `no tracking store at ${path}`);
    }
    this.#db = openSqliteStore(path, {
      what: "tracking store",
      schema: SCHEMA,
      version: SCHEMA_VERSION,
      createFolder: !options.mustExist,
      ...(options.synchronous ? { synchronous: options.synchronous } : {}),
    });
  }

  /**
   * Records scalars in one transaction: all or none. Each is checked first (finite value, tag,
   * step: `Code.InvalidArgument` naming the tag), so one bad event leaves the store untouched.
   * A (job, site, tag, step) already stored is replaced. Returns the number of rows written.
   */
  record(events: Iterable<JobScalarEvent>): number {
    const rows = [...events];
    for (const event of rows) {
      checkTrackingEvent(event);
      if (typeof event.job !== "string" || event.job === "") {
        throw new FedbridgeError(
          Code.InvalidArgument,
          `tracking tag ${JSON.stringify(event.tag)}: no job`,
        );
      }
    }
    const insert = this.#db.prepare(
      `INSERT INTO scalars (job, site, tag, step, value, wall_time) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job, site, tag, step) DO UPDATE SET value = excluded.value, wall_time = excluded.wall_time`,
    );
    writeTransaction(this.#db, () => {
      for (const e of rows)
        insert.run(e.job, e.site ?? "server", e.tag, e.step, e.value, e.wallTime);
    });
    return rows.length;
  }

  /** A job's scalars ordered by tag, step and site; filtered by tag and site when given. */
  scalars(job: string, filter: { tag?: string; site?: string } = {}): StoredScalar[] {
    const rows = this.#db
      .prepare(
        `SELECT job, site, tag, step, value, wall_time AS wallTime FROM scalars
         WHERE job = ? AND (? IS NULL OR tag = ?) AND (? IS NULL OR site = ?)
         ORDER BY tag, step, site`,
      )
      .all(job, filter.tag ?? null, filter.tag ?? null, filter.site ?? null, filter.site ?? null);
    return rows as StoredScalar[];
  }

  /** Every job with at least one scalar, in the order they first recorded one. */
  jobs(): string[] {
    return this.#db
      .prepare("SELECT job FROM scalars GROUP BY job ORDER BY MIN(seq)")
      .pluck()
      .all() as string[];
  }

  /**
   * A job's scalars as CSV (RFC 4180): a header `site,tag,step,value,wall_time`, then one row
   * per scalar in `scalars` order, numbers written so they read back exactly.
   */
  toCsv(job: string): string {
    const lines = ["site,tag,step,value,wall_time"];
    for (const s of this.scalars(job)) {
      lines.push([csvField(s.site), csvField(s.tag), s.step, s.value, s.wallTime].join(","));
    }
    return `${lines.join("\r\n")}\r\n`;
  }

  close(): void {
    this.#db.close();
  }
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
