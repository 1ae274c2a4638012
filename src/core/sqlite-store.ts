import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Code, FedbridgeError } from "./fedbridge-error.ts";

export interface SqliteStoreOptions {
  /** What the file is called in errors, e.g. "job store". */
  what: string;
  /** The schema (CREATE ... IF NOT EXISTS statements) and its version (PRAGMA user_version). */
  schema: string;
  version: number;
  /** FULL (default): every commit fsynced, so committed rows survive a crash of the machine too. */
  synchronous?: "FULL" | "NORMAL";
  /** Default: off. */
  foreignKeys?: boolean;
  /** Create the file's folder if missing. Default: true. */
  createFolder?: boolean;
}

/**
 * Opens one of fedbridge's SQLite files the same way everywhere: WAL (readers beside a writer,
 * committed rows survive a SIGKILL), the chosen synchronous level, a busy timeout for
 * concurrent writers, and the schema applied unless the file is from a newer fedbridge.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions): Database.Database {
  let db: Database.Database;
  try {
    if (path !== ":memory:" && options.createFolder !== false)
      mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    // First: switching to WAL takes a lock, and jobs opening one store at once must wait for it.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    switchToWal(db);
    db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    if (options.foreignKeys) db.pragma("foreign_keys = ON");
  } catch (cause) {
    throw new FedbridgeError(
      Code.Unavailable,
      `cannot open the ${options.what} ${path}: ${FedbridgeError.from(cause).message}`,
      { cause },
    );
  }
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > options.version) {
    db.close();
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `${options.what} ${path} has schema version ${version}, newer than this fedbridge's ${options.version}`,
    );
  }
  writeTransaction(db, () => {
    db.exec(options.schema);
    db.pragma(`user_version = ${options.version}`);
  });
  return db;
}

const BUSY_TIMEOUT_MS = 5000;

/**
 * Sets WAL mode, trying again while another connection holds the lock. Switching reads the file
 * and then needs it alone; when two connections do that at once, SQLite tells one "database is
 * locked" at once instead of waiting (a wait could deadlock), so the busy timeout does not help.
 * Five threads opening new stores in step hit it about once in thirty opens.
 */
function switchToWal(db: Database.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      const busy = error instanceof Database.SqliteError && error.code === "SQLITE_BUSY";
      if (!busy || Date.now() > deadline) throw error;
      sleepSync(5 + Math.random() * 20);
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `work` in a transaction that takes the write lock first (BEGIN IMMEDIATE), waiting the
 * busy timeout for it. A plain (deferred) transaction that reads before it writes fails at
 * once with "database is locked" when another process wrote in between: job processes opening
 * one store together did (sqlite-store.test.ts). Returns what `work` returns.
 */
export function writeTransaction<T>(db: Database.Database, work: () => T): T {
  return db.transaction(work).immediate();
}
