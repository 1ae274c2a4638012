import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { BaseGrid, type RunInfo } from "../app/grid.ts";
import { ReplyBox } from "../app/reply-box.ts";
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
  readonly #box = new ReplyBox();

  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodeIndexById: ReadonlyMap<bigint, number>,
    pool: NodeWorkerPool,
  ) {
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
        this.#box.put(
          errorReply(
            message,
            ErrorCode.NODE_UNAVAILABLE,
            `node ${message.metadata.dstNodeId} does not exist`,
          ),
        );
        continue;
      }
      this.#pool.handle(nodeIndex, encodeMessage(message)).then(
        (bytes) => this.#box.put(decodeMessage(bytes)),
        (cause) =>
          this.#box.put(
            errorReply(message, ErrorCode.CLIENT_APP_CRASHED, FedbridgeError.from(cause).message),
          ),
      );
    }
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    return this.#box.take(messageIds);
  }

  protected waitForReplies(ms: number): Promise<void> {
    return this.#box.wait(ms);
  }
}

function errorReply(to: Message, code: number, reason: string): Message {
  return new Message(new Error(code, reason), { replyTo: to });
}
