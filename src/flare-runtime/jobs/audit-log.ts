import { closeSync, fsync, mkdirSync, openSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/** What happened to an admin command: decided (allowed / denied), then carried out (ok / error). */
export type AuditOutcome = "allowed" | "denied" | "ok" | "error";

/** One line of the audit log. */
export interface AuditEntry {
  /** ISO 8601, UTC. */
  time: string;
  /** The admin, from their certificate. */
  who: { name: string; org: string; role: string };
  /** The command, e.g. "abort". */
  command: string;
  /** A short summary of its arguments, e.g. the job id; cut at `MAX_ARGS_CHARS`. */
  args: string;
  outcome: AuditOutcome;
  /** Why it was denied or failed, or what it did. */
  reason?: string;
}

export interface AuditLogOptions {
  /** fsync every line (`record` resolves once it is on disk); default true. */
  fsync?: boolean;
  /** The clock for `time`; default `() => new Date()`. */
  now?: () => Date;
}

/** Longest `args` kept: a summary, not the payload (a bundle never goes in the log). */
export const MAX_ARGS_CHARS = 500;

/**
 * The server's append-only record of every admin command: who, what, when, and the outcome, as
 * one JSON object per line. A file rather than a table in the job store: it is opened for
 * appending only (nothing here can rewrite a line), operators read and ship it with ordinary
 * tools (tail, grep, jq, a log collector), and a command refused because the store is broken
 * or locked is still logged. Each line is one `write` on an O_APPEND descriptor, then fsynced
 * on libuv's thread pool, not on the event loop: a loaded disk (1,000 sites' result files) made
 * a synchronous fsync stall the whole server for each command.
 *
 * @example
 * const audit = new AuditLog(join(workspace, "audit.jsonl"));
 * await audit.record({ who, command: "abort", args: jobId, outcome: "denied", reason });
 */
export class AuditLog {
  readonly #fd: number;
  readonly #fsync: boolean;
  readonly #now: () => Date;
  #closed = false;
  /** fsyncs under way: the descriptor is closed once they are done. */
  #syncing = 0;

  constructor(
    readonly path: string,
    options: AuditLogOptions = {},
  ) {
    this.#fsync = options.fsync ?? true;
    this.#now = options.now ?? (() => new Date());
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#fd = openSync(path, "a", 0o640);
    } catch (cause) {
      throw new FedbridgeError(
        Code.Unavailable,
        `cannot open the audit log ${path}: ${FedbridgeError.from(cause).message}`,
        { cause },
      );
    }
  }

  /**
   * Appends one entry (stamped now), written at once and in order; resolves with it as written
   * once it is on disk. Throws at once when the log is closed.
   */
  record(entry: Omit<AuditEntry, "time">): Promise<AuditEntry> {
    if (this.#closed) throw new FedbridgeError(Code.FailedPrecondition, "the audit log is closed");
    const args =
      entry.args.length > MAX_ARGS_CHARS ? `${entry.args.slice(0, MAX_ARGS_CHARS)}…` : entry.args;
    const written: AuditEntry = {
      time: this.#now().toISOString(),
      who: { name: entry.who.name, org: entry.who.org, role: entry.who.role },
      command: entry.command,
      args,
      outcome: entry.outcome,
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    };
    // JSON.stringify escapes newlines, so an entry is always exactly one line.
    writeSync(this.#fd, `${JSON.stringify(written)}\n`);
    if (!this.#fsync) return Promise.resolve(written);
    this.#syncing++;
    return new Promise((resolve, reject) =>
      fsync(this.#fd, (error) => {
        if (--this.#syncing === 0 && this.#closed) closeSync(this.#fd);
        if (error === null) resolve(written);
        else reject(new FedbridgeError(Code.DataLoss, `audit log ${this.path}: ${error.message}`));
      }),
    );
  }

  /** No more entries; the file is closed once those written are on disk. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#syncing === 0) closeSync(this.#fd);
  }
}

/**
 * Every entry of an audit log, oldest first. A last line without its newline (the server died
 * mid-write) is skipped; any other line that is not an entry is DataLoss, naming the line.
 */
export async function readAuditLog(path: string): Promise<AuditEntry[]> {
  const text = await readFile(path, "utf8").catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "ENOENT") return "";
    throw FedbridgeError.from(cause, Code.Unavailable);
  });
  const lines = text.split("\n");
  lines.pop(); // "" after the last newline, or a torn last line
  return lines.map((line, i) => {
    try {
      const entry = JSON.parse(line) as AuditEntry;
      if (typeof entry.command === "string" && typeof entry.who?.name === "string") return entry;
    } catch {}
    throw new FedbridgeError(Code.DataLoss, `${path} line ${i + 1} is not an audit entry`);
  });
}
