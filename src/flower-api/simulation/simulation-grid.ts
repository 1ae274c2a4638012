import { DispatchGrid } from "../app/dispatch-grid.ts";
import type { RunInfo } from "../app/grid.ts";
import type { RunObserver } from "../app/run-observer.ts";
import type { Message } from "../message/message.ts";
import type { NodeWorkerPool } from "./node-worker-pool.ts";

/**
 * The Grid of a simulation: instructions go to the threads that run the nodes' ClientApps.
 * Messages cross threads as `flwr.proto.Message` bytes, the same encoding as on the wire, so
 * apps see exactly what a deployment would give them.
 */
export class SimulationGrid extends DispatchGrid<number> {
  override readonly fixedNodes: string;

  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodeIndexById: ReadonlyMap<bigint, number>,
    private readonly pool: NodeWorkerPool,
  ) {
    super(run, observer, nodeIndexById);
    this.fixedNodes = `the simulation has ${nodeIndexById.size} node${nodeIndexById.size === 1 ? "" : "s"} (set with --nodes)`;
  }

  protected dispatch(message: Message, nodeIndex: number): Promise<Message> {
    return this.pool.handle(nodeIndex, message);
  }
}
