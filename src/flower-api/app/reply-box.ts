import { Notifier } from "../../core/notifier.ts";
import type { Message } from "../message/message.ts";

/**
 * Replies kept until pulled, keyed by the instruction they answer, with an event for
 * whoever waits: the local half of a Grid's pullMessages, without polling.
 */
export class ReplyBox {
  readonly #replies = new Map<string, Message>();
  readonly #arrived = new Notifier();
  /** The arrivals' version at the last `take`. */
  #takenAt = 0;

  put(reply: Message): void {
    this.#replies.set(reply.metadata.replyToMessageId, reply);
    this.#arrived.notify();
  }

  /** Removes and returns the replies to these instruction ids that have arrived. */
  take(instructionIds: Iterable<string>): Message[] {
    this.#takenAt = this.#arrived.version;
    const out: Message[] = [];
    if (this.#replies.size === 0) return out; // a grid asks about a whole round's after each reply
    for (const id of instructionIds) {
      const reply = this.#replies.get(id);
      if (reply === undefined) continue;
      this.#replies.delete(id);
      out.push(reply);
    }
    return out;
  }

  /**
   * Resolves at once if a reply arrived since the last `take` (one that landed between a
   * caller's take and its wait is not slept through), else when the next one arrives or
   * after `ms`.
   */
  wait(ms: number): Promise<void> {
    return this.#arrived.wait(ms, undefined, this.#takenAt);
  }
}
