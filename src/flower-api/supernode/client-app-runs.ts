/**
 * The runs a SuperNode has loaded: each run's app bundle fetched, checked against its hash and
 * unpacked, its ClientApp started and its Context kept between messages. An app that cannot
 * load is remembered with the reason, which its messages are answered with.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { type Context, createContext, type UserConfig } from "../app/context.ts";
import { readAppManifest } from "../app/load-app.ts";
import { scalarsToConfig } from "../app/scalars.ts";
import type { ClientAppRunner, ClientAppThread } from "../clientapp-worker/client-app-runner.ts";
import { ClientAppWorker } from "../clientapp-worker/clientapp-worker.ts";
import { InlineClientApp } from "../clientapp-worker/inline-client-app.ts";
import type { WorkerSetup } from "../clientapp-worker/protocol.ts";
import { unpackApp } from "../fab/app-bundle.ts";
import type { FleetConnection } from "./fleet-connection.ts";

/** Runs whose ClientApp thread is kept between messages; older ones are stopped (state kept). */
const LIVE_RUN_THREADS = 2;

export interface LoadedRun {
  /** Runs the ClientApp; undefined when the app could not even be unpacked. */
  worker: ClientAppRunner | undefined;
  /** Why the app cannot load, when it cannot. */
  failure?: FedbridgeError;
  context: Context;
}

/** What the runs take from their SuperNode's options (see SuperNodeOptions). */
export interface ClientAppRunsOptions {
  nodeConfig?: UserConfig | undefined;
  workerSetup?: WorkerSetup | undefined;
  clientAppThread?: ClientAppThread | undefined;
  /** Receives an app's tracking events for its run. */
  onTracking: (runId: bigint, events: readonly object[]) => void;
  log: (line: string) => void;
}

/** A SuperNode's loaded runs, by run id, in the order they were loaded. */
export class ClientAppRuns {
  readonly #options: ClientAppRunsOptions;
  readonly #runs = new Map<bigint, LoadedRun>();

  constructor(options: ClientAppRunsOptions) {
    this.#options = options;
  }

  /** The run, loaded on first use: its app unpacked under `workDir` and started. */
  async load(
    connection: FleetConnection,
    nodeId: bigint,
    runId: bigint,
    workDir: string,
  ): Promise<LoadedRun> {
    const known = this.#runs.get(runId);
    if (known !== undefined) return known;
    const node = { nodeId };
    const { run } = await connection.call(Fleet.method.getRun, { node, runId });
    if (run === undefined)
      throw new FedbridgeError(Code.NotFound, `the SuperLink knows no run ${runId}`);
    const { fab } = await connection.call(Fleet.method.getFab, {
      node,
      hashStr: run.fabHash,
      runId,
    });
    const overrides = scalarsToConfig(run.overrideConfig);
    const context = createContext({
      runId,
      nodeId,
      nodeConfig: this.#options.nodeConfig ?? {},
      runConfig: overrides,
    });
    let loaded: LoadedRun;
    try {
      const content = fab?.content ?? new Uint8Array();
      const actual = createHash("sha256").update(content).digest("hex");
      if (actual !== run.fabHash)
        throw new FedbridgeError(
          Code.DataLoss,
          `app bundle hash mismatch: expected ${run.fabHash}, got ${actual}`,
        );
      const dir = await unpackApp(content, run.fabHash, join(workDir, run.fabHash));
      const manifest = await readAppManifest(dir);
      context.runConfig = { ...manifest.config, ...overrides };
      const worker =
        this.#options.clientAppThread === "caller"
          ? new InlineClientApp(manifest.clientappUrl)
          : new ClientAppWorker({
              clientappUrl: manifest.clientappUrl,
              ...(this.#options.workerSetup ? { setup: this.#options.workerSetup } : {}),
              onTracking: (events) => this.#options.onTracking(runId, events),
              // A pulled instruction's objects are the node's alone (the cache lets go of them).
              moveInstructionArrays: true,
            });
      loaded = { worker, context };
      await worker.start().catch((error) => {
        loaded.failure = FedbridgeError.from(error);
      });
      if (loaded.failure === undefined) this.#options.log(`run ${runId}: loaded ${manifest.name}`);
      else this.#options.log(`run ${runId}: cannot load the app: ${loaded.failure.message}`);
    } catch (error) {
      const failure = FedbridgeError.from(error);
      this.#options.log(`run ${runId}: cannot load the app: ${failure.message}`);
      loaded = { worker: undefined, failure, context };
    }
    this.#runs.set(runId, loaded);
    await this.#stopOldThreads(runId);
    return loaded;
  }

  /** Ends every run's ClientApp for good. */
  async close(): Promise<void> {
    await Promise.all([...this.#runs.values()].map((run) => run.worker?.close()));
  }

  /** Keeps the ClientApp threads of the most recent runs only (their Contexts stay). */
  async #stopOldThreads(newest: bigint): Promise<void> {
    const older = [...this.#runs.keys()].filter((id) => id !== newest);
    for (const runId of older.slice(0, Math.max(0, older.length - (LIVE_RUN_THREADS - 1)))) {
      await this.#runs.get(runId)?.worker?.stop();
    }
  }
}
