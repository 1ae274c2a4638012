import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { BaseGrid, type RunInfo } from "../app/grid.ts";
import type { RunObserver } from "../app/run-observer.ts";
import { Error, ErrorCode } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { decodeMessage, encodeMessage } from "../message/message-serde.ts";
import type { NodeWorkerPool } from "./node-worker-pool.ts";

/**
 * The Grid of a simulation: instructions go to the worker threads that host the nodes;
 * replies are kept until pulled. Messages cross threads as `flwr.proto.Message` bytes,
 * the same encoding as on the wire, so apps see exactly what a deployment would give them.
 */
export class SimulationGrid extends BaseGrid {
  readonly #nodeIndexById: ReadonlyMap<bigint, number>;
  readonly #pool: NodeWorkerPool;
  readonly #replies = new Map<string, Message>();
  #wake: (() => void) | undefined;

  constructor(run: RunInfo, observer: RunObserver, nodeIndexById: ReadonlyMap<bigint, number>, pool: NodeWorkerPool) {
    super(run, observer);
    this.#nodeIndexById = nodeIndexById;
    this.#pool = pool;
  }

  async getNodeIds(): Promise<bigint[]> {
    return [...this.#nodeIndexById.keys()];
  }

  protected async deliver(messages: readonly Message[]): Promise<void> {
    for (const message of messages) {
      const nodeIndex = this.#nodeIndexById.get(message.metadata.dstNodeId);
      if (nodeIndex === undefined) {
        this.#store(errorReply(message, ErrorCode.NODE_UNAVAILABLE, `node ${message.metadata.dstNodeId} does not exist`));
        continue;
      }
      this.#pool.handle(nodeIndex, encodeMessage(message)).then(
        (bytes) => this.#store(decodeMessage(bytes)),
        (cause) => this.#store(errorReply(message, ErrorCode.CLIENT_APP_CRASHED, FedbridgeError.from(cause).message)),
      );
    }
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    const out: Message[] = [];
    for (const id of messageIds) {
      const reply = this.#replies.get(id);
      if (reply === undefined) continue;
      this.#replies.delete(id);
      out.push(reply);
    }
    return out;
  }

  protected waitForReplies(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #store(reply: Message): void {
    this.#replies.set(reply.metadata.replyToMessageId, reply);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function errorReply(to: Message, code: number, reason: string): Message {
  return new Message(new Error(code, reason), { replyTo: to });
}
