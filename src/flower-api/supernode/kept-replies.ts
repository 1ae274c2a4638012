import { Message } from "../message/message.ts";

/** Replies kept: enough for the messages a node handles between two connections. */
const KEPT = 16;
/**
 * Bytes of arrays kept beyond the latest reply. A restarted SuperLink's ServerApp asks again
 * only for what it had not received, the messages in flight then, so a model-sized reply keeps
 * the replies before it out: 16 replies of a 1 GB model would be 16 GB.
 */
const KEPT_BYTES = 64 * 2 ** 20;

interface Kept {
  what: string;
  /** The connection it was computed on. */
  connection: number;
  reply: Message;
  bytes: number;
}

/**
 * The node's latest replies, so that a message sent again after the SuperLink restarted (a
 * resumed run's ServerApp sends the same messages again, under new ids) is answered with the
 * reply already computed, not trained a second time; the reply may never have reached the
 * SuperLink, or reached it and been lost with it. A message counts as the same when its run,
 * type, group and content are, and only across a reconnection: on one connection, a message
 * sent twice is handled twice, as the ServerApp asked.
 */
export class KeptReplies {
  #kept: Kept[] = [];
  #connection = 0;

  /** The node has (re)connected: what it kept so far may be asked for again. */
  newConnection(): void {
    this.#connection++;
  }

  keep(instruction: Message, contentId: string, reply: Message): void {
    const what = whatOf(instruction, contentId);
    this.#kept.push({ what, connection: this.#connection, reply, bytes: arrayBytes(reply) });
    // Each run's latest reply stays; older ones while they fit the count and the bytes.
    const latestOfRun = new Map<bigint, Kept>();
    for (const k of this.#kept) latestOfRun.set(k.reply.metadata.runId, k);
    const stays = new Set(latestOfRun.values());
    let olderBytes = 0;
    for (const k of this.#kept) if (!stays.has(k)) olderBytes += k.bytes;
    let count = this.#kept.length;
    this.#kept = this.#kept.filter((k) => {
      if (stays.has(k) || (count <= KEPT && olderBytes <= KEPT_BYTES)) return true;
      count--;
      olderBytes -= k.bytes;
      return false;
    });
  }

  /** A kept reply to the same message from an earlier connection, addressed to this one. */
  take(instruction: Message, contentId: string): Message | undefined {
    const what = whatOf(instruction, contentId);
    const index = this.#kept.findIndex((k) => k.what === what && k.connection < this.#connection);
    if (index < 0) return undefined;
    const [kept] = this.#kept.splice(index, 1) as [Kept];
    const body = kept.reply.hasError() ? kept.reply.error : kept.reply.content;
    return new Message(body, { replyTo: instruction });
  }
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
