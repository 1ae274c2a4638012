import { type Context, createContext, type UserConfig } from "../app/context.ts";
import { ClientAppWorker } from "../clientapp-worker/clientapp-worker.ts";
import type { WorkerSetup } from "../clientapp-worker/protocol.ts";
import type { Message } from "../message/message.ts";

/** One simulated node: its index (partition-id), id and node config. */
export interface SimulatedNode {
  index: number;
  nodeId: bigint;
  nodeConfig: UserConfig;
}

/** What every simulated node shares. */
export interface PoolInit {
  clientappUrl: string;
  runId: bigint;
  runConfig: UserConfig;
  /** A module each thread imports before the app. Default: none. */
  setup?: WorkerSetup;
}

/**
 * The threads that run the simulated nodes' ClientApps, node i on thread i mod W. Each node's
 * Context (and state) is kept here for the whole run and travels with its messages, so a
 * thread stopped at a message's deadline, or crashed, costs that message alone: the node
 * answers its next one, as a real node would.
 */
export class NodeWorkerPool {
  readonly #workers: ClientAppWorker[];
  readonly #contexts = new Map<number, Context>();

  constructor(init: PoolInit, nodes: readonly SimulatedNode[], workers: number) {
    const count = Math.max(1, Math.min(workers, nodes.length));
    this.#workers = Array.from(
      { length: count },
      () =>
        new ClientAppWorker({
          clientappUrl: init.clientappUrl,
          ...(init.setup ? { setup: init.setup } : {}),
        }),
    );
    for (const node of nodes) {
      this.#contexts.set(
        node.index,
        createContext({
          runId: init.runId,
          nodeId: node.nodeId,
          nodeConfig: node.nodeConfig,
          runConfig: init.runConfig,
        }),
      );
    }
  }

  /** Starts every thread and waits until each has loaded the ClientApp. */
  async start(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.start()));
  }

  /** Runs one instruction on its node; resolves with the node's reply. */
  handle(nodeIndex: number, message: Message): Promise<Message> {
    const context = this.#contexts.get(nodeIndex);
    const worker = this.#workers[nodeIndex % this.#workers.length];
    if (context === undefined || worker === undefined)
      throw new RangeError(`no simulated node ${nodeIndex}`);
    return worker.handle(message, context);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.close()));
  }
}
