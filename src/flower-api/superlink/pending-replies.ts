import type { Message } from "../message/message.ts";

/**
 * Nodes' replies as they arrive: a reply's message comes first with its object tree, then its
 * objects one by one; it is complete, and can be handed to the ServerApp, once its own node
 * has pushed every object it was missing.
 */

export interface PendingReply {
  /** The node that pushes it. */
  nodeId: bigint;
  instructionId: string;
  replyId: string;
  /** Objects of the reply's tree still to be pushed. */
  missing: Set<string>;
  /** The reply itself, when its node sent it whole (inline): no need to inflate it again. */
  message?: Message;
}

/** Replies still being pushed, and the complete ones by the instruction they answer. */
export class PendingReplies {
  readonly #pending = new Map<string, PendingReply>();
  readonly #complete = new Map<string, PendingReply>(); // by the instruction it answers

  /** `completed` runs each time a reply completes (the router wakes its waiters). */
  constructor(private readonly completed: () => void) {}

  /** Waits for a reply's missing objects; one missing none is complete at once. */
  expect(reply: PendingReply): void {
    this.#pending.set(reply.replyId, reply);
    this.#checkComplete(reply.replyId);
  }

  /**
   * A node pushed an object (after the store accepted it). Only that node's replies count it
   * as arrived: another node's reply that shares the object (equal metrics, equal arrays)
   * completes when its own node has pushed it. Were it completed early, the ServerApp could
   * consume it and the store drop its objects while its node is still pushing them, and the
   * node would be told they were not stored.
   */
  objectStored(nodeId: bigint, objectId: string): void {
    for (const pending of this.#pending.values()) {
      if (pending.nodeId === nodeId && pending.missing.delete(objectId))
        this.#checkComplete(pending.replyId);
    }
  }

  /** The id of an instruction's complete reply, if there is one. */
  replyTo(instructionId: string): string | undefined {
    return this.#complete.get(instructionId)?.replyId;
  }

  /** An instruction's complete reply as a message, if its node sent it whole. */
  inlineReply(instructionId: string): Message | undefined {
    return this.#complete.get(instructionId)?.message;
  }

  has(instructionId: string): boolean {
    return this.#complete.has(instructionId);
  }

  /** The instructions that have a complete reply. */
  answered(): MapIterator<string> {
    return this.#complete.keys();
  }

  /** Forgets an instruction's complete reply (taken, or its run dropped). */
  delete(instructionId: string): void {
    this.#complete.delete(instructionId);
  }

  #checkComplete(replyId: string): void {
    const pending = this.#pending.get(replyId);
    if (pending === undefined || pending.missing.size > 0) return;
    this.#pending.delete(replyId);
    this.#complete.set(pending.instructionId, pending);
    this.completed();
  }
}
