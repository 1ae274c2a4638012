import { Message } from "../message/message.ts";

/** Replies kept: enough for the messages a node handles between two connections. */
const KEPT = 16;

interface Kept {
  what: string;
  /** The connection it was computed on. */
  connection: number;
  reply: Message;
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
  readonly #kept: Kept[] = [];
  #connection = 0;

  /** The node has (re)connected: what it kept so far may be asked for again. */
  newConnection(): void {
    this.#connection++;
  }

  keep(instruction: Message, contentId: string, reply: Message): void {
    this.#kept.push({ what: whatOf(instruction, contentId), connection: this.#connection, reply });
    if (this.#kept.length > KEPT) this.#kept.shift();
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

function whatOf(instruction: Message, contentId: string): string {
  const m = instruction.metadata;
  return `${m.runId}|${m.messageType}|${m.groupId}|${contentId}`;
}
