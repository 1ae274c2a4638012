import { join } from "node:path";
import type Database from "better-sqlite3";
import { readFileDirect } from "../core/direct-file.ts";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { openSqliteStore } from "../core/sqlite-store.ts";
import type { TaskResult } from "../flare-runtime/controller/task.ts";
import type { Shareable } from "../flare-runtime/shareable/shareable.ts";
import { decodeShareable } from "../flare-runtime/shareable/shareable-codec.ts";
import type { JournalEntry } from "../flower-api/app/replay.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS replies (
  key    TEXT PRIMARY KEY,
  seq    INTEGER NOT NULL,
  site   TEXT NOT NULL,
  -- a result: its file, relative to the journal's folder; a failure: its code and reason
  file   TEXT,
  code   INTEGER,
  reason TEXT
);`;

/** A journaled reply: a site's result, or the error reply its failed task gave. */
export type JournaledReply =
  | { kind: "result"; shareable: Shareable }
  | { kind: "failure"; code: number; reason: string };

/**
 * A bridged job's reply journal, in its workspace at the server: every reply the ServerApp got,
 * by message key (replay.ts), recorded before the ServerApp sees it. A site's result stays in
 * the file it arrived in, moved here (not copied); a failure is a row. Rows are in SQLite (WAL):
 * a crash of the server's processes loses none that were recorded; after a crash of the machine
 * the last ones may be missing, and their messages then go to the sites again.
 */
export class ReplyJournal {
  readonly #dir: string;
  readonly #db: Database.Database;
  readonly #entries: Map<string, JournalEntry>;
  #seq: number;

  constructor(dir: string) {
    this.#dir = dir;
    this.#db = openSqliteStore(join(dir, "journal.db"), {
      what: "reply journal",
      schema: SCHEMA,
      version: 1,
      synchronous: "NORMAL",
    });
    const rows = this.#db.prepare("SELECT key, seq, site FROM replies ORDER BY seq").all() as {
      key: string;
      seq: number;
      site: string;
    }[];
    this.#entries = new Map(rows.map((r) => [r.key, { seq: r.seq, node: r.site }]));
    this.#seq = rows.reduce((max, r) => Math.max(max, r.seq), 0);
  }

  /** The replies journaled before this process opened it, by key. */
  entries(): ReadonlyMap<string, JournalEntry> {
    return this.#entries;
  }

  async load(key: string): Promise<JournaledReply> {
    const row = this.#db.prepare("SELECT file, code, reason FROM replies WHERE key = ?").get(key) as
      | { file: string | null; code: number | null; reason: string | null }
      | undefined;
    if (row === undefined)
      throw new FedbridgeError(Code.NotFound, `the reply journal holds no reply ${key}`);
    if (row.file === null)
      return { kind: "failure", code: row.code ?? 0, reason: row.reason ?? "" };
    const bytes = await readFileDirect(join(this.#dir, row.file));
    return { kind: "result", shareable: decodeShareable(bytes, `journaled reply ${key}`) };
  }

  /**
   * Moves a site's result file into the journal's folder and reads it there; returns its name
   * (for `record`, once the ServerApp takes the reply) and its content. From then on the file is
   * needed only after a crash: it stays out of the page cache, where the runtime writes and
   * reads results (core/direct-file.ts), so the journal costs disk, not memory.
   */
  async stash(result: TaskResult): Promise<{ file: string; shareable: Shareable }> {
    if (result.keep === undefined)
      throw new FedbridgeError(Code.Internal, `${result.site}'s result has no file to keep`);
    const file = `${this.#seq + 1}-${result.site}-${Date.now()}.result`;
    await result.keep(join(this.#dir, file));
    const shareable = await result.read();
    return { file, shareable };
  }

  /** Records the reply the ServerApp took for `key`: a stashed result, or a failure. */
  record(
    key: string,
    site: string,
    reply: { file: string } | { code: number; reason: string },
  ): void {
    const seq = ++this.#seq;
    if ("file" in reply) this.#insert(key, seq, site, reply.file, null, null);
    else this.#insert(key, seq, site, null, reply.code, reply.reason);
  }

  close(): void {
    this.#db.close();
  }

  #insert(
    key: string,
    seq: number,
    site: string,
    file: string | null,
    code: number | null,
    reason: string | null,
  ): void {
    this.#db
      .prepare(
        "INSERT OR REPLACE INTO replies (key, seq, site, file, code, reason) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(key, seq, site, file, code, reason);
  }
}
