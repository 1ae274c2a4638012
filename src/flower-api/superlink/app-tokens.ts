import { randomBytes } from "node:crypto";
import type { RunRecord, RunRegistry } from "./run-registry.ts";

/** Flower's HEARTBEAT_DEFAULT_INTERVAL and HEARTBEAT_PATIENCE, for app processes. */
const INTERVAL_MS = 30_000;
const PATIENCE = 2;
/** Flower's RUN_FAILURE_DETAILS_NO_HEARTBEAT. */
export const NO_HEARTBEAT = "No heartbeat received from the run.";

/**
 * The tokens of runs' ServerApp processes, with Flower 1.28's liveness rule: a token lives
 * 30 s after it is issued, and each SendAppHeartbeat extends it to 60 s from then; when it
 * runs out, the run fails with Flower's "No heartbeat received from the run." So a ServerApp
 * process that dies silently (started by us or by an outside flower-superexec) ends its run
 * instead of leaving it running forever. Timers, not polling; they never keep Node alive.
 */
export class AppTokens {
  readonly #timers = new Map<bigint, NodeJS.Timeout>();

  constructor(
    private readonly runs: RunRegistry,
    /** Ends a run whose token ran out. */
    private readonly fail: (run: RunRecord, details: string) => void,
  ) {}

  /** A new 256-hex token for the run, which moves on to `starting`. */
  issue(run: RunRecord): string {
    run.appToken = randomBytes(128).toString("hex");
    this.runs.advance(run, "starting");
    this.#arm(run, INTERVAL_MS);
    return run.appToken;
  }

  /** SendAppHeartbeat: false when the token is unknown, spent, or its run has finished. */
  heartbeat(token: string): boolean {
    const run = this.runs.byToken(token);
    if (run === undefined || run.status === "finished") return false;
    this.#arm(run, PATIENCE * INTERVAL_MS);
    return true;
  }

  /** The app pushed its outputs: its token is spent and no longer watched. */
  spend(run: RunRecord): void {
    run.appToken = "";
    this.#disarm(run.runId);
  }

  close(): void {
    for (const runId of [...this.#timers.keys()]) this.#disarm(runId);
  }

  #arm(run: RunRecord, ms: number): void {
    this.#disarm(run.runId);
    const timer = setTimeout(() => {
      this.#timers.delete(run.runId);
      if (run.status !== "finished" && run.appToken) this.fail(run, NO_HEARTBEAT);
    }, ms);
    timer.unref();
    this.#timers.set(run.runId, timer);
  }

  #disarm(runId: bigint): void {
    clearTimeout(this.#timers.get(runId));
    this.#timers.delete(runId);
  }
}
