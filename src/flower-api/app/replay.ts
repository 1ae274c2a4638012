import { createHash } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Message } from "../message/message.ts";
import { deflateRecordDict } from "../objects/deflate.ts";
import type { RecordDict } from "../records/record-dict.ts";

/** What a journal says of one reply it holds: the order it came in and who gave it. */
export interface JournalEntry {
  seq: number;
  /** Whom the message went to, for messages that name the divergence. */
  node: string;
}

/**
 * A ServerApp run again from the start after a restart, against the journal of the replies
 * it got before: it is a deterministic function of its config, seed and replies, so it sends
 * the same messages again, in the same order, and each one whose reply is journaled is
 * answered from there (no node is asked twice) until the first one without — from there the
 * run goes on live. A message is known by what it is, not by its id (a message id includes its
 * creation time): its destination, type, group, the id of its content, and how many such
 * messages came before it. A ServerApp that sends what it did not send before, while replies
 * to what it did send are still unreplayed, has diverged: the run fails, never silently
 * producing another model.
 */
export class Replay {
  readonly #journal: ReadonlyMap<string, JournalEntry>;
  readonly #replayed = new Set<string>();
  readonly #seen = new Map<string, number>();
  #live = false;

  constructor(journal: ReadonlyMap<string, JournalEntry>) {
    this.#journal = journal;
  }

  /** Whether the run is still replaying: no message has gone out live yet. */
  get replaying(): boolean {
    return this.#journal.size > 0 && !this.#live;
  }

  /** How many replies the journal held when the run (re)started. */
  get journaled(): number {
    return this.#journal.size;
  }

  /**
   * The message's key, the same when the ServerApp sends it again after a restart.
   * `contentId` may be given when the caller has it (messages that share their content).
   */
  key(message: Message, contentId = deflateRecordDict(message.content).id): string {
    const m = message.metadata;
    const what = `${m.dstNodeId}|${m.messageType}|${m.groupId}|${contentId}`;
    const nth = this.#seen.get(what) ?? 0;
    this.#seen.set(what, nth + 1);
    return createHash("sha256").update(`${what}|${nth}`).digest("hex");
  }

  /** Whether the message of `key` is answered from the journal (it then counts as replayed). */
  take(key: string): boolean {
    if (!this.#journal.has(key) || this.#replayed.has(key)) return false;
    this.#replayed.add(key);
    return true;
  }

  /**
   * After a push: `live` are its messages that went out live. Throws when the ServerApp sent
   * something new while replies it had before remain unreplayed: it diverged.
   */
  check(live: readonly { node: string; type: string }[]): void {
    if (live.length === 0) return;
    this.#live = true;
    const missing = this.#unreplayed();
    if (missing === undefined) return;
    const sent = live[0] as { node: string; type: string };
    throw notDeterministic(
      `after the restart it sent a ${sent.type} message to ${sent.node} that it had not sent before, while the reply of ${missing.node} to its message #${missing.seq} was never asked for again`,
    );
  }

  /** At the end of the run: every journaled reply must have been replayed. */
  finish(): void {
    const missing = this.#unreplayed();
    if (missing !== undefined)
      throw notDeterministic(
        `it ended without sending again its message #${missing.seq} to ${missing.node}, which it had sent before the restart`,
      );
  }

  #unreplayed(): JournalEntry | undefined {
    let first: JournalEntry | undefined;
    for (const [key, entry] of this.#journal)
      if (!this.#replayed.has(key) && (first === undefined || entry.seq < first.seq)) first = entry;
    return first;
  }
}

/** The id of a RecordDict's content, as message keys use it. */
export function contentId(content: RecordDict): string {
  return deflateRecordDict(content).id;
}

function notDeterministic(what: string): FedbridgeError {
  return new FedbridgeError(
    Code.FailedPrecondition,
    `the ServerApp is not deterministic: ${what}; a resumed run must send the same messages for the same replies (use the run's seed, not the clock or Math.random)`,
  );
}
