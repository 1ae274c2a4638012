import type { ClientApp } from "../app/client-app.ts";
import { type Context, createContext } from "../app/context.ts";
import { DispatchGrid } from "../app/dispatch-grid.ts";
import type { RunInfo } from "../app/grid.ts";
import { runClientApp } from "../app/run-client-app.ts";
import { type RunObserver, silentObserver } from "../app/run-observer.ts";
import type { Message } from "../message/message.ts";
import { decodeMessage, encodeMessage } from "../message/message-serde.ts";

interface InMemoryNode {
  app: ClientApp;
  context: Context;
}

/**
 * A Grid whose nodes run ClientApps in this thread: for unit tests of apps and strategies,
 * with no workers and no sockets. Messages still pass through their wire encoding.
 */
export class InMemoryGrid extends DispatchGrid<InMemoryNode> {
  readonly #nodes: Map<bigint, InMemoryNode>;

  constructor(run: RunInfo = { runId: 1n, runConfig: {} }, observer: RunObserver = silentObserver) {
    const nodes = new Map<bigint, InMemoryNode>();
    super(run, observer, nodes);
    this.#nodes = nodes;
  }

  /** Adds a node running `app`; its partition-id is its position. Returns its id. */
  addNode(app: ClientApp, nodeConfig: Context["nodeConfig"] = {}): bigint {
    const nodeId = BigInt(this.#nodes.size + 2);
    const partition = { "partition-id": this.#nodes.size, ...nodeConfig };
    const context = createContext({
      runId: this.run.runId,
      nodeId,
      nodeConfig: partition,
      runConfig: this.run.runConfig,
    });
    this.#nodes.set(nodeId, { app, context });
    return nodeId;
  }

  protected async dispatch(message: Message, node: InMemoryNode): Promise<Message> {
    const reply = await runClientApp(node.app, decodeMessage(encodeMessage(message)), node.context);
    return decodeMessage(encodeMessage(reply));
  }
}
