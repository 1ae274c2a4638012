import { availableParallelism } from "node:os";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createRng } from "../../core/numeric/random.ts";
import { createContext, type UserConfig } from "../app/context.ts";
import { importApp, readAppManifest } from "../app/load-app.ts";
import { checkRunConfig } from "../app/run-config.ts";
import { type RunObserver, silentObserver } from "../app/run-observer.ts";
import { ServerApp } from "../app/server-app.ts";
import type { WorkerSetup } from "../clientapp-worker/protocol.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import type { Result } from "../strategy/result.ts";
import { NodeWorkerPool, type SimulatedNode } from "./node-worker-pool.ts";
import { SimulationGrid } from "./simulation-grid.ts";

export interface SimulationOptions {
  /** The app folder (package.json with a `fedbridge` field). */
  appDir: string;
  /** Number of simulated nodes, partition-ids 0..N-1. Default: 2. */
  numNodes?: number;
  /** Seeds every random choice of the run. Default: 0. */
  seed?: number;
  /** Overrides of the app's run config, checked by `checkRunConfig`. Default: none. */
  runConfig?: UserConfig;
  /** How errors about `runConfig` name it, e.g. `--run-config`. Default: `run config`. */
  runConfigLabel?: string;
  /** Worker threads that run the ClientApps. Default: one per core, at most one per node. */
  workers?: number;
  /** Receives the run's progress. Default: silent. */
  observer?: RunObserver;
  /** A module each worker imports before the app (see WorkerSetup). Default: none. */
  workerSetup?: WorkerSetup;
}

export interface SimulationOutcome {
  /** What the ServerApp's main returned (a strategy's Result), if anything. */
  result: Result | undefined;
  runConfig: UserConfig;
}

/**
 * Runs an app on this machine: the ServerApp in this thread, N ClientApps in worker
 * threads. Node and run ids derive from the seed, so a run is reproducible end to end.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationOutcome> {
  const numNodes = options.numNodes ?? 2;
  if (!Number.isInteger(numNodes) || numNodes < 1) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `the number of nodes must be a positive integer, got ${numNodes}`,
    );
  }
  const seed = options.seed ?? 0;
  const manifest = await readAppManifest(options.appDir);
  checkRunConfig(manifest, { ...options.runConfig, seed }, options.runConfigLabel);
  const runConfig: UserConfig = { ...manifest.config, ...options.runConfig, seed };
  const serverApp = await importApp(manifest.serverappUrl, ServerApp, "serverapp");

  const ids = createRng(seed, "simulation-ids");
  const randomId = () =>
    (BigInt(Math.floor(ids.next() * 2 ** 31)) << 32n) | BigInt(Math.floor(ids.next() * 2 ** 32));
  const runId = randomId();
  const nodes: SimulatedNode[] = Array.from({ length: numNodes }, (_, index) => ({
    index,
    nodeId: randomId() + 2n, // never 0, never the server's 1
    nodeConfig: { "partition-id": index, "num-partitions": numNodes },
  }));

  const pool = new NodeWorkerPool(
    {
      clientappUrl: manifest.clientappUrl,
      runId,
      runConfig,
      ...(options.workerSetup ? { setup: options.workerSetup } : {}),
    },
    nodes,
    options.workers ?? availableParallelism(),
  );
  try {
    await pool.start();
    const observer = options.observer ?? silentObserver;
    const grid = new SimulationGrid(
      { runId, runConfig },
      observer,
      new Map(nodes.map((n) => [n.nodeId, n.index])),
      pool,
    );
    const context = createContext({ runId, nodeId: SERVER_NODE_ID, runConfig });
    const result = await serverApp.run(grid, context).catch((cause) => {
      throw new FedbridgeError(
        FedbridgeError.from(cause).code,
        `ServerApp failed: ${FedbridgeError.from(cause).message}`,
        { cause },
      );
    });
    return { result, runConfig };
  } finally {
    await pool.close();
  }
}
