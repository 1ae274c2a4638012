import { rm } from "node:fs/promises";
import { join } from "node:path";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { Message } from "../message/message.ts";
import { readReplyFile, writeReplyFile } from "./reply-file.ts";

/** Replies kept: enough for the messages a node handles between two connections. */
const KEPT = 16;
/**
 * Bytes of arrays kept beyond the latest reply. A restarted SuperLink's ServerApp asks again
 * only for what it had not received, the messages in flight then, so a model-sized reply keeps
 * the replies before it out: 16 replies of a 1 GB model would be 16 GB.
 */
const KEPT_BYTES = 64 * 2 ** 20;
/** Replies with more bytes of arrays than this wait in a file, not in memory. */
const IN_MEMORY_BYTES = 16 * 2 ** 20;

interface Kept {
  what: string;
  /** The connection it was computed on. */
  connection: number;
  runId: bigint;
  /** The reply, or the file it waits in. */
  reply: Message | string;
  bytes: number;
}

/**
 * The node's latest replies, so that a message sent again after the SuperLink restarted (a
 * resumed run's ServerApp sends the same messages again, under new ids) is answered with the
 * reply already computed, not trained a second time; the reply may never have reached the
 * SuperLink, or reached it and been lost with it. A message counts as the same when its run,
 * type, group and content are, and only across a reconnection: on one connection, a message
 * sent twice is handled twice, as the ServerApp asked.
 *
 * With a `folder`, a model-sized reply waits in a file there (reply-file.ts), so a node holds no
 * model between rounds; a reply that cannot be written is kept in memory instead.
 */
export class KeptReplies {
  readonly #folder: string | undefined;
  readonly #log: (line: string) => void;
  #kept: Kept[] = [];
  #connection = 0;
  #files = 0;
  /** Writes in flight, which close() waits for (a write makes its folder again). */
  readonly #writing = new Set<Promise<unknown>>();

  constructor(options: { folder?: string; log?: (line: string) => void } = {}) {
    this.#folder = options.folder;
    this.#log = options.log ?? (() => {});
  }

  /** The node has (re)connected: what it kept so far may be asked for again. */
  newConnection(): void {
    this.#connection++;
  }

  async keep(instruction: Message, contentId: string, reply: Message): Promise<void> {
    const bytes = arrayBytes(reply);
    const connection = this.#connection;
    let kept: Message | string = reply;
    if (this.#folder !== undefined && bytes > IN_MEMORY_BYTES) {
      const path = join(this.#folder, `reply-${++this.#files}`);
      const writing = writeReplyFile(path, reply);
      this.#writing.add(writing);
      kept = await writing.then(
        () => path,
        (error) => {
          this.#log(`a reply is kept in memory: ${FedbridgeError.from(error).message}`);
          return reply;
        },
      );
      this.#writing.delete(writing);
    }
    const { runId } = reply.metadata;
    this.#kept.push({
      what: whatOf(instruction, contentId),
      connection,
      runId,
      reply: kept,
      bytes,
    });
    this.#forgetOld();
  }

  /** A kept reply to the same message from an earlier connection, addressed to this one. */
  async take(instruction: Message, contentId: string): Promise<Message | undefined> {
    const what = whatOf(instruction, contentId);
    const index = this.#kept.findIndex((k) => k.what === what && k.connection < this.#connection);
    if (index < 0) return undefined;
    const [kept] = this.#kept.splice(index, 1) as [Kept];
    let reply: Message;
    if (typeof kept.reply === "string") {
      const path = kept.reply;
      try {
        reply = await readReplyFile(path);
      } catch (error) {
        this.#log(`a kept reply is lost: ${FedbridgeError.from(error).message}`);
        return undefined;
      } finally {
        await forget(kept);
      }
    } else reply = kept.reply;
    const body = reply.hasError() ? reply.error : reply.content;
    return new Message(body, { replyTo: instruction });
  }

  /** Removes the files of replies kept (the node is stopping: nobody can ask for them). */
  async close(): Promise<void> {
    this.#kept = [];
    await Promise.allSettled(this.#writing);
    if (this.#folder !== undefined) await rm(this.#folder, { recursive: true, force: true });
  }

  /** Each run's latest reply stays; older ones while they fit the count and the bytes. */
  #forgetOld(): void {
    const latestOfRun = new Map<bigint, Kept>();
    for (const k of this.#kept) latestOfRun.set(k.runId, k);
    const stays = new Set(latestOfRun.values());
    let olderBytes = 0;
    for (const k of this.#kept) if (!stays.has(k)) olderBytes += k.bytes;
    let count = this.#kept.length;
    this.#kept = this.#kept.filter((k) => {
      if (stays.has(k) || (count <= KEPT && olderBytes <= KEPT_BYTES)) return true;
      count--;
      olderBytes -= k.bytes;
      void forget(k);
      return false;
    });
  }
}

/** Removes a kept reply's file, if it has one. */
async function forget(kept: Kept): Promise<void> {
  if (typeof kept.reply === "string") await rm(kept.reply, { force: true }).catch(() => {});
}

function arrayBytes(reply: Message): number {
  if (!reply.hasContent()) return 0;
  let bytes = 0;
  for (const record of reply.content.arrayRecords.values()) bytes += record.countBytes();
  return bytes;
}

function whatOf(instruction: Message, contentId: string): string {
  const m = instruction.metadata;
  return `${m.runId}|${m.messageType}|${m.groupId}|${contentId}`;
}
