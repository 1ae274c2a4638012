import { Notifier } from "../../core/notifier.ts";
import type { Message } from "../message/message.ts";

/**
 * Replies kept until pulled, keyed by the instruction they answer, with an event for
 * whoever waits: the local half of a Grid's pullMessages, without polling.
 */
export class ReplyBox {
  readonly #replies = new Map<string, Message>();
  readonly #arrived = new Notifier();

  put(reply: Message): void {
    this.#replies.set(reply.metadata.replyToMessageId, reply);
    this.#arrived.notify();
  }

  /** Removes and returns the replies to these instruction ids that have arrived. */
  take(instructionIds: Iterable<string>): Message[] {
    const out: Message[] = [];
    for (const id of instructionIds) {
      const reply = this.#replies.get(id);
      if (reply === undefined) continue;
      this.#replies.delete(id);
      out.push(reply);
    }
    return out;
  }

  /** Resolves when the next reply arrives or after `ms`. */
  wait(ms: number): Promise<void> {
    return this.#arrived.wait(ms);
  }
}
