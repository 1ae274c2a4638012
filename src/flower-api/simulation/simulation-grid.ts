import { DispatchGrid } from "../app/dispatch-grid.ts";
import type { RunInfo } from "../app/grid.ts";
import type { RunObserver } from "../app/run-observer.ts";
import type { Message } from "../message/message.ts";
import { decodeMessage, encodeMessage } from "../message/message-serde.ts";
import type { NodeWorkerPool } from "./node-worker-pool.ts";

/**
 * The Grid of a simulation: instructions go to the worker threads that host the nodes.
 * Messages cross threads as `flwr.proto.Message` bytes, the same encoding as on the wire, so
 * apps see exactly what a deployment would give them. A worker that dies answers
 * CLIENT_APP_CRASHED for the messages it had.
 */
export class SimulationGrid extends DispatchGrid<number> {
  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodeIndexById: ReadonlyMap<bigint, number>,
    private readonly pool: NodeWorkerPool,
  ) {
    super(run, observer, nodeIndexById);
  }

  protected async dispatch(message: Message, nodeIndex: number): Promise<Message> {
    return decodeMessage(await this.pool.handle(nodeIndex, encodeMessage(message)));
  }
}
