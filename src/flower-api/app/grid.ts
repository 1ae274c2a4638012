import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import { deflateMessages } from "../objects/deflate.ts";
import type { RecordDict } from "../records/record-dict.ts";
import type { UserConfig } from "./context.ts";
import { type RunObserver, silentObserver } from "./run-observer.ts";

/** The run a grid serves. */
export interface RunInfo {
  runId: bigint;
  /** The app's config with overrides; `seed` seeds node sampling. */
  runConfig: UserConfig;
}

/**
 * How a ServerApp reaches the nodes, as Flower 1.28's `Grid`. Every mode (simulation,
 * native deployment, the bridge) provides one; apps and strategies see only this.
 */
export interface Grid {
  readonly run: RunInfo;
  /** Listens to the run's rounds; strategies report to it. */
  readonly observer: RunObserver;
  createMessage(
    content: RecordDict,
    messageType: string,
    dstNodeId: bigint,
    groupId?: string,
    ttl?: number,
  ): Message;
  /** Ids of the nodes connected now. */
  getNodeIds(): Promise<bigint[]>;
  /**
   * fedbridge's addition: when the run's nodes are fixed from its start (a simulation, a
   * runtime job), what they are, e.g. "the simulation has 3 nodes"; waiting for more nodes is
   * then pointless, so node sampling fails at once instead.
   */
  readonly fixedNodes?: string | undefined;
  /** fedbridge's addition: a node as people know it (a runtime site's name). Default: none. */
  nodeName?(nodeId: bigint): string;
  /** Sends instructions; returns their message ids. */
  pushMessages(messages: Iterable<Message>): Promise<string[]>;
  /** Replies that have arrived for these instruction ids (each is returned once). */
  pullMessages(messageIds: Iterable<string>): Promise<Message[]>;
  /**
   * Sends and waits for every reply. A node that does not reply within `timeout` seconds
   * (default: until the instructions' TTL runs out) gets an error reply
   * REPLY_MESSAGE_UNAVAILABLE in its place, so this never hangs.
   */
  sendAndReceive(messages: Iterable<Message>, options?: { timeout?: number }): Promise<Message[]>;
}

/**
 * The mode-independent half of a Grid: message creation and checks, ids, and
 * sendAndReceive on top of push, pull and an event that says replies may have arrived.
 */
export abstract class BaseGrid implements Grid {
  /** The end of the last pull-and-wait step of a `sendAndReceive`; see #step. */
  #lastStep: Promise<unknown> = Promise.resolve();

  constructor(
    readonly run: RunInfo,
    readonly observer: RunObserver = silentObserver,
  ) {}

  readonly fixedNodes?: string | undefined;

  abstract getNodeIds(): Promise<bigint[]>;
  /** Delivers checked messages that already carry their ids. */
  protected abstract deliver(messages: readonly Message[]): Promise<void>;
  abstract pullMessages(messageIds: Iterable<string>): Promise<Message[]>;
  /**
   * Resolves when a reply arrives or after `ms`, whichever is first; at once if one arrived
   * since the last `pullMessages`, so a reply stored between a pull and this wait is not
   * slept through (ReplyBox does this).
   */
  protected abstract waitForReplies(ms: number): Promise<void>;

  createMessage(
    content: RecordDict,
    messageType: string,
    dstNodeId: bigint,
    groupId = "",
    ttl?: number,
  ): Message {
    return new Message(content, {
      dstNodeId,
      messageType,
      groupId,
      ...(ttl === undefined ? {} : { ttl }),
    });
  }

  async pushMessages(messages: Iterable<Message>): Promise<string[]> {
    const batch = [...messages];
    for (const message of batch) {
      const m = message.metadata;
      if (m.messageId !== "" || m.replyToMessageId !== "") {
        throw new FedbridgeError(
          Code.InvalidArgument,
          "pushMessages takes new instructions (messageId and replyToMessageId empty)",
        );
      }
      m.runId = this.run.runId;
      m.srcNodeId = SERVER_NODE_ID;
    }
    // A round's messages share their content: deflated once, not once per node.
    deflateMessages(batch).forEach((deflated, i) => {
      (batch[i] as Message).metadata.messageId = deflated.id;
    });
    await this.deliver(batch);
    return batch.map((m) => m.metadata.messageId);
  }

  async sendAndReceive(
    messages: Iterable<Message>,
    options: { timeout?: number } = {},
  ): Promise<Message[]> {
    const instructions = [...messages];
    const ids = await this.pushMessages(instructions);
    const ttl = Math.min(...instructions.map((m) => m.remainingTtl()));
    const deadline = Date.now() + 1000 * Math.min(options.timeout ?? Number.POSITIVE_INFINITY, ttl);
    const replies = new Map<string, Message>();
    // One Set of the ids still waiting, not a new list at every wake: a round of 1,000 nodes
    // wakes up to 1,000 times.
    const waiting = new Set(ids);
    for (;;) {
      const { woken } = await this.#step(async () => {
        for (const reply of await this.pullMessages(waiting)) {
          replies.set(reply.metadata.replyToMessageId, reply);
          waiting.delete(reply.metadata.replyToMessageId);
        }
        const left = deadline - Date.now();
        if (waiting.size === 0 || left <= 0) return { woken: undefined };
        return { woken: this.waitForReplies(Math.min(left, 2 ** 31 - 1)) };
      });
      if (woken === undefined) break;
      await woken;
    }
    return instructions.map((ins) => replies.get(ins.metadata.messageId) ?? this.noReply(ins));
  }

  /**
   * The reply standing in for one that did not come before the timeout:
   * REPLY_MESSAGE_UNAVAILABLE. A grid that journals what the ServerApp got records it here.
   */
  protected noReply(instruction: Message): Message {
    const error = new MessageError(
      ErrorCode.REPLY_MESSAGE_UNAVAILABLE,
      "no reply before the timeout",
    );
    return new Message(error, { replyTo: instruction });
  }

  /**
   * Runs one pull of a `sendAndReceive` up to the start of its wait, after the steps of
   * other `sendAndReceive` calls on this grid (SecAggPlusGrid runs two at once): a wait
   * returns at once for replies that arrived since the last pull, so another call's pull
   * must not come between this call's pull and its wait.
   */
  #step<T>(step: () => Promise<T>): Promise<T> {
    const done = this.#lastStep.then(step);
    this.#lastStep = done.catch(() => undefined);
    return done;
  }
}
