import { randomBytes } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Notifier } from "../../core/notifier.ts";
import type { RunEvent } from "../../gen/fedbridge/v1/control_pb.ts";
import type { UserConfig } from "../app/context.ts";
import type { FinalResults } from "./final-results.ts";
import type { StoredRun, SuperLinkDatabase } from "./superlink-database.ts";

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
  /** When each event came, in unix seconds (Flower's log timestamps). */
  eventTimes: number[];
  /** Aborted when the run is stopped: the ServerApp's grid calls fail from then on. */
  abort: AbortController;
}

/** What of the runs the registry writes to the SuperLink's database. */
export type RunStore = Pick<SuperLinkDatabase, "saveRun" | "saveBundle" | "saveEvent">;

/**
 * The SuperLink's runs, their app bundles (by SHA-256) and their event logs; with a store,
 * each of them is also written to the database as it changes.
 */
export class RunRegistry {
  readonly #runs = new Map<bigint, RunRecord>();
  readonly #bundles = new Map<string, Uint8Array>();
  readonly #changed = new Notifier();
  #store: RunStore | undefined;
  readonly #onStoreError: (error: FedbridgeError) => void;
  /** Finished runs' final models, set aside in files while their events stay in memory. */
  readonly #finals: FinalResults | undefined;

  /**
   * `onStoreError` hears of a write to the database that failed (a full disk): the run goes on
   * in memory, but may not resume as it should after a restart. `finals`: where finished runs'
   * final models are set aside (the SuperLink's; without it, they stay in memory with their
   * events).
   */
  constructor(
    store?: RunStore,
    onStoreError: (error: FedbridgeError) => void = () => {},
    finals?: FinalResults,
  ) {
    this.#store = store;
    this.#onStoreError = onStoreError;
    this.#finals = finals;
  }

  /** Takes back a run a previous SuperLink process kept; its config comes from its bundle. */
  restore(stored: StoredRun, bundle: Uint8Array | undefined, runConfig: UserConfig): RunRecord {
    if (bundle !== undefined) this.#bundles.set(stored.fabHash, bundle);
    const run: RunRecord = {
      runId: stored.runId,
      fabHash: stored.fabHash,
      fabId: stored.fabId,
      fabVersion: stored.fabVersion,
      runConfig,
      overrideConfig: stored.overrideConfig,
      status: stored.status,
      subStatus: stored.subStatus as RunSubStatus,
      details: stored.details,
      startedAt: stored.startedAt,
      startingAt: stored.startedAt,
      runningAt: stored.startedAt,
      finishedAt: stored.finishedAt,
      // Only runs of TypeScript ServerApps are kept (see #save).
      serverApp: "typescript",
      appToken: undefined,
      events: stored.events.map((event) => this.#setAside(stored.runId, event)),
      // Kept events have no time of their own: the run's start, still strictly increasing.
      eventTimes: stored.events.map((_, i) => stored.startedAt.getTime() / 1000 + i * 1e-6),
      abort: new AbortController(),
    };
    if (run.status === "finished") run.abort.abort();
    this.#runs.set(run.runId, run);
    return run;
  }

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
      eventTimes: [],
      abort: new AbortController(),
    };
    this.#store?.saveBundle(fabHash, bundle); // a full disk fails StartRun here, saying so
    this.#runs.set(runId, run);
    this.#save(run);
    return run;
  }

  /** Every run, oldest first. */
  all(): RunRecord[] {
    return [...this.#runs.values()];
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
    run.events.push(this.#setAside(run.runId, event));
    // Strictly increasing, so a log follower resuming "after" a time never skips an event.
    const last = run.eventTimes.at(-1) ?? 0;
    run.eventTimes.push(Math.max((performance.timeOrigin + performance.now()) / 1000, last + 1e-6));
    this.#write(() => this.#store?.saveEvent(run.runId, run.events.length - 1, event));
    this.#changed.notify();
  }

  finish(run: RunRecord, subStatus: Exclude<RunSubStatus, "">, details = ""): void {
    if (run.status === "finished") return;
    Object.assign(run, { status: "finished", subStatus, details, finishedAt: new Date() });
    this.#save(run);
    run.abort.abort(new FedbridgeError(Code.Aborted, `run ${run.runId} ${subStatus}`));
    this.#changed.notify();
  }

  #save(run: RunRecord): void {
    // A Python ServerApp's run lives in Flower's process, which a restart does not bring back:
    // such runs are not kept, and a restarted SuperLink does not know them.
    if (run.serverApp === "python") return;
    const { status } = run;
    if (status !== "running" && status !== "finished") return;
    this.#write(() => this.#store?.saveRun({ ...run, status }));
  }

  #write(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.#onStoreError(FedbridgeError.from(error));
    }
  }

  /**
   * `event`, one of `run.events`, whole: a final event's model is read back from where it was
   * set aside.
   */
  async wholeEvent(run: RunRecord, event: RunEvent): Promise<RunEvent> {
    return this.#finals?.whole(run.runId, event) ?? event;
  }

  #setAside(runId: bigint, event: RunEvent): RunEvent {
    return this.#finals?.setAside(runId, event) ?? event;
  }

  /**
   * The SuperLink is going away (SIGTERM): running runs are stopped here, but the database
   * keeps them running, so the next SuperLink on it resumes them.
   */
  close(): void {
    this.#store = undefined;
    for (const run of this.#runs.values())
      if (run.status === "running")
        run.abort.abort(new FedbridgeError(Code.Unavailable, "the SuperLink is shutting down"));
  }

  /** Resolves when any run gets an event or finishes, or after `ms`. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#changed.wait(ms, signal);
  }
}
