import { randomBytes } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Notifier } from "../../core/notifier.ts";
import type { RunEvent } from "../../gen/fedbridge/v1/control_pb.ts";
import type { UserConfig } from "../app/context.ts";

/**
 * Flower's run statuses; a finished run has a sub-status. A run whose ServerApp is Flower's
 * own process is pending until a launcher takes its token, starting until the process pulls
 * its inputs; a TypeScript ServerApp's run is running from the start.
 */
export type RunStatus = "pending" | "starting" | "running" | "finished";
export type RunSubStatus = "" | "completed" | "failed" | "stopped";

export interface RunRecord {
  runId: bigint;
  fabHash: string;
  /** Flower's `publisher/name` of the app, and its version (GetRun carries both). */
  fabId: string;
  fabVersion: string;
  /** The app's config with the run's overrides: what every node's context gets. */
  runConfig: UserConfig;
  /** Just the overrides, as Flower's `Run.override_config`. */
  overrideConfig: UserConfig;
  status: RunStatus;
  subStatus: RunSubStatus;
  details: string;
  startedAt: Date;
  /** When the ServerApp process took its token and when it pulled its inputs (Flower's run). */
  startingAt: Date | undefined;
  runningAt: Date | undefined;
  finishedAt: Date | undefined;
  /** Where the ServerApp runs: in this process (TypeScript) or as Flower's flwr-serverapp. */
  serverApp: "typescript" | "python";
  /** The token of the run's ServerApp process, once a launcher asked for it (ServerAppIo). */
  appToken: string | undefined;
  /** Every event so far, so a late follower sees the whole run. */
  events: RunEvent[];
  /** Aborted when the run is stopped: the ServerApp's grid calls fail from then on. */
  abort: AbortController;
}

/** The SuperLink's runs, their app bundles (by SHA-256) and their event logs. */
export class RunRegistry {
  readonly #runs = new Map<bigint, RunRecord>();
  readonly #bundles = new Map<string, Uint8Array>();
  readonly #changed = new Notifier();

  create(
    fab: { hash: string; id: string; version: string },
    bundle: Uint8Array,
    runConfig: UserConfig,
    overrideConfig: UserConfig,
    /** The run's id when it is given (the bridge's shim reuses the job's); default: a random one. */
    requestedRunId?: bigint,
    serverApp: RunRecord["serverApp"] = "typescript",
  ): RunRecord {
    const fabHash = fab.hash;
    let runId = requestedRunId ?? 0n;
    if (this.#runs.has(runId)) throw new FedbridgeError(Code.AlreadyExists, `run ${runId} exists`);
    while (runId === 0n || this.#runs.has(runId)) runId = randomBytes(8).readBigUInt64LE() >> 1n; // < 2^63
    this.#bundles.set(fabHash, bundle);
    const run: RunRecord = {
      runId,
      fabHash,
      fabId: fab.id,
      fabVersion: fab.version,
      runConfig,
      overrideConfig,
      status: serverApp === "python" ? "pending" : "running",
      subStatus: "",
      details: "",
      startedAt: new Date(),
      startingAt: undefined,
      runningAt: serverApp === "python" ? undefined : new Date(),
      finishedAt: undefined,
      serverApp,
      appToken: undefined,
      events: [],
      abort: new AbortController(),
    };
    this.#runs.set(runId, run);
    return run;
  }

  get(runId: bigint): RunRecord | undefined {
    return this.#runs.get(runId);
  }

  /** The run, which must be running: Flower answers PERMISSION_DENIED otherwise. */
  running(runId: bigint): RunRecord {
    const run = this.#runs.get(runId);
    if (run === undefined)
      throw new FedbridgeError(Code.PermissionDenied, `Run ID not found: ${runId}`);
    if (run.status !== "running")
      throw new FedbridgeError(Code.PermissionDenied, `Run ${runId} is not running`);
    return run;
  }

  bundle(fabHash: string): Uint8Array | undefined {
    return this.#bundles.get(fabHash);
  }

  /** Every run, oldest first. */
  all(): RunRecord[] {
    return [...this.#runs.values()];
  }

  /** The run whose ServerApp process holds `token`, if any. */
  byToken(token: string): RunRecord | undefined {
    if (token === "") return undefined;
    return this.all().find((run) => run.appToken === token);
  }

  /** Moves a run on to `starting` or `running` (never back), waking followers. */
  advance(run: RunRecord, status: "starting" | "running"): void {
    const order = ["pending", "starting", "running", "finished"];
    if (order.indexOf(status) <= order.indexOf(run.status)) return;
    run.status = status;
    if (status === "starting") run.startingAt = new Date();
    else run.runningAt = new Date();
    this.#changed.notify();
  }

  emit(run: RunRecord, event: RunEvent): void {
    run.events.push(event);
    this.#changed.notify();
  }

  finish(run: RunRecord, subStatus: Exclude<RunSubStatus, "">, details = ""): void {
    if (run.status === "finished") return;
    Object.assign(run, { status: "finished", subStatus, details, finishedAt: new Date() });
    run.abort.abort(new FedbridgeError(Code.Aborted, `run ${run.runId} ${subStatus}`));
    this.#changed.notify();
  }

  /** Resolves when any run gets an event or finishes, or after `ms`. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#changed.wait(ms, signal);
  }
}
