import type { ClientApp } from "../app/client-app.ts";
import { type Context, createContext } from "../app/context.ts";
import { BaseGrid, type RunInfo } from "../app/grid.ts";
import { ReplyBox } from "../app/reply-box.ts";
import { runClientApp } from "../app/run-client-app.ts";
import type { RunObserver } from "../app/run-observer.ts";
import { silentObserver } from "../app/run-observer.ts";
import { Error, ErrorCode } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { decodeMessage, encodeMessage } from "../message/message-serde.ts";

/**
 * A Grid whose nodes run ClientApps in this thread: for unit tests of apps and strategies,
 * with no workers and no sockets. Messages still pass through their wire encoding.
 */
export class InMemoryGrid extends BaseGrid {
  readonly #nodes = new Map<bigint, { app: ClientApp; context: Context }>();
  readonly #box = new ReplyBox();

  constructor(run: RunInfo = { runId: 1n, runConfig: {} }, observer: RunObserver = silentObserver) {
    super(run, observer);
  }

  /** Adds a node running `app`; its partition-id is its position. Returns its id. */
  addNode(app: ClientApp, nodeConfig: Context["nodeConfig"] = {}): bigint {
    const nodeId = BigInt(this.#nodes.size + 2);
    const partition = { "partition-id": this.#nodes.size, ...nodeConfig };
    this.#nodes.set(nodeId, {
      app,
      context: createContext({
        runId: this.run.runId,
        nodeId,
        nodeConfig: partition,
        runConfig: this.run.runConfig,
      }),
    });
    return nodeId;
  }

  async getNodeIds(): Promise<bigint[]> {
    return [...this.#nodes.keys()];
  }

  protected async deliver(messages: readonly Message[]): Promise<void> {
    for (const message of messages) {
      const node = this.#nodes.get(message.metadata.dstNodeId);
      const wire = decodeMessage(encodeMessage(message));
      const reply = node
        ? runClientApp(node.app, wire, node.context)
        : Promise.resolve(
            new Message(new Error(ErrorCode.NODE_UNAVAILABLE, "no such node"), {
              replyTo: message,
            }),
          );
      void reply.then((r) => this.#box.put(decodeMessage(encodeMessage(r))));
    }
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    return this.#box.take(messageIds);
  }

  protected waitForReplies(ms: number): Promise<void> {
    return this.#box.wait(ms);
  }
}
