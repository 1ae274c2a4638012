import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type Database from "better-sqlite3";
import { openSqliteStore } from "../../core/sqlite-store.ts";
import { type RunEvent, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { RunSchema } from "../../gen/flwr/proto/run_pb.ts";
import type { UserConfig } from "../app/context.ts";
import { configToScalars, scalarsToConfig } from "../app/scalars.ts";
import { blob, RunJournal } from "./run-journal.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS nodes (
  node_id            TEXT PRIMARY KEY,
  public_key         TEXT NOT NULL UNIQUE,
  heartbeat_interval REAL NOT NULL,
  unregistered       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bundles (
  fab_hash TEXT PRIMARY KEY,
  content  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  run_id      TEXT PRIMARY KEY,
  fab_hash    TEXT NOT NULL,
  fab_id      TEXT NOT NULL,
  fab_version TEXT NOT NULL,
  -- the run's overrides as a flwr.proto.Run (only override_config set)
  overrides   BLOB NOT NULL,
  status      TEXT NOT NULL,
  sub_status  TEXT NOT NULL,
  details     TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  event  BLOB NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS replies (
  run_id TEXT NOT NULL,
  key    TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  node   TEXT NOT NULL,
  reply  BLOB NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS node_lists (
  run_id TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  ids    TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);`;

/** A node as the database keeps it: enough to let it back in with its key after a restart. */
export interface StoredNode {
  nodeId: bigint;
  publicKey: string;
  heartbeatInterval: number;
  unregistered: boolean;
}

/** A run as the database keeps it; its full config is its bundle's with these overrides. */
export interface StoredRun {
  runId: bigint;
  fabHash: string;
  fabId: string;
  fabVersion: string;
  overrideConfig: UserConfig;
  status: "running" | "finished";
  subStatus: string;
  details: string;
  startedAt: Date;
  finishedAt: Date | undefined;
  events: RunEvent[];
}

/**
 * The SuperLink's state in one SQLite file (`fedbridge superlink --database PATH`): nodes with
 * their public keys, runs with their bundles, statuses and events, and each run's reply
 * journal. Messages in flight are not kept: a resumed run's ServerApp sends them again
 * (replay.ts). WAL with synchronous NORMAL: a SIGKILL of the SuperLink loses no committed
 * row; a crash of the machine may lose the last ones, whose messages then go out again.
 */
export class SuperLinkDatabase {
  readonly #db: Database.Database;

  constructor(readonly path: string) {
    this.#db = openSqliteStore(path, {
      what: "SuperLink database",
      schema: SCHEMA,
      version: 1,
      synchronous: "NORMAL",
    });
  }

  nodes(): StoredNode[] {
    const rows = this.#db.prepare("SELECT * FROM nodes").all() as {
      node_id: string;
      public_key: string;
      heartbeat_interval: number;
      unregistered: number;
    }[];
    return rows.map((r) => ({
      nodeId: BigInt(r.node_id),
      publicKey: r.public_key,
      heartbeatInterval: r.heartbeat_interval,
      unregistered: r.unregistered !== 0,
    }));
  }

  saveNode(node: StoredNode): void {
    this.#db
      .prepare(
        "INSERT OR REPLACE INTO nodes (node_id, public_key, heartbeat_interval, unregistered) VALUES (?, ?, ?, ?)",
      )
      .run(String(node.nodeId), node.publicKey, node.heartbeatInterval, node.unregistered ? 1 : 0);
  }

  saveBundle(fabHash: string, content: Uint8Array): void {
    this.#db
      .prepare("INSERT OR IGNORE INTO bundles (fab_hash, content) VALUES (?, ?)")
      .run(fabHash, blob(content));
  }

  bundle(fabHash: string): Uint8Array | undefined {
    const row = this.#db.prepare("SELECT content FROM bundles WHERE fab_hash = ?").get(fabHash) as
      | { content: Buffer }
      | undefined;
    return row === undefined ? undefined : new Uint8Array(row.content);
  }

  saveRun(run: Omit<StoredRun, "events">): void {
    const overrides = toBinary(
      RunSchema,
      create(RunSchema, { overrideConfig: configToScalars(run.overrideConfig) }),
    );
    this.#db
      .prepare(
        `INSERT OR REPLACE INTO runs (run_id, fab_hash, fab_id, fab_version, overrides, status,
         sub_status, details, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        String(run.runId),
        run.fabHash,
        run.fabId,
        run.fabVersion,
        blob(overrides),
        run.status,
        run.subStatus,
        run.details,
        run.startedAt.getTime(),
        run.finishedAt?.getTime() ?? null,
      );
  }

  runs(): StoredRun[] {
    const rows = this.#db.prepare("SELECT * FROM runs ORDER BY started_at").all() as {
      run_id: string;
      fab_hash: string;
      fab_id: string;
      fab_version: string;
      overrides: Buffer;
      status: string;
      sub_status: string;
      details: string;
      started_at: number;
      finished_at: number | null;
    }[];
    const events = this.#db.prepare("SELECT event FROM events WHERE run_id = ? ORDER BY seq");
    return rows.map((r) => ({
      runId: BigInt(r.run_id),
      fabHash: r.fab_hash,
      fabId: r.fab_id,
      fabVersion: r.fab_version,
      overrideConfig: scalarsToConfig(fromBinary(RunSchema, r.overrides).overrideConfig),
      status: r.status === "running" ? "running" : "finished",
      subStatus: r.sub_status,
      details: r.details,
      startedAt: new Date(r.started_at),
      finishedAt: r.finished_at === null ? undefined : new Date(r.finished_at),
      events: (events.all(r.run_id) as { event: Buffer }[]).map((e) =>
        fromBinary(RunEventSchema, e.event),
      ),
    }));
  }

  saveEvent(runId: bigint, seq: number, event: RunEvent): void {
    this.#db
      .prepare("INSERT OR REPLACE INTO events (run_id, seq, event) VALUES (?, ?, ?)")
      .run(String(runId), seq, blob(toBinary(RunEventSchema, event)));
  }

  /** The reply journal of a run, in this database. */
  journal(runId: bigint): RunJournal {
    return new RunJournal(this.#db, runId);
  }

  close(): void {
    this.#db.close();
  }
}
