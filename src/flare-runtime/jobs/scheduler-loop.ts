import type { JobMeta } from "./job-meta.ts";
import { type SiteAssignment, type SiteState, schedule } from "./scheduler.ts";

/** Timers, injected so tests move time by hand. */
export interface SchedulerClock {
  /** Calls `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** A job waiting for sites. */
export interface WaitingJob {
  id: string;
  meta: JobMeta;
}

export interface SchedulerLoopOptions {
  /** The sites as the registry sees them now, with the jobs running at each. */
  sites: () => readonly SiteState[];
  /**
   * Starts a job at the sites chosen. Called synchronously within a scheduling pass; from then
   * on `sites()` must count the job among the sites' running jobs (the loop counts it for the
   * rest of the pass itself). If it throws, the job is given up with the error as reason.
   */
  start: (job: WaitingJob, sites: SiteAssignment[]) => void;
  /** Ends a job that could not be scheduled in time (FINISHED:CAN_NOT_SCHEDULE). */
  giveUp: (job: WaitingJob, reason: string) => void;
  /** How long a job whose meta names no `timeoutSeconds` may wait; default 300 s. */
  defaultTimeoutSeconds?: number;
  /** Default: the real clock, with timers that do not keep the process alive. */
  clock?: SchedulerClock;
}

interface Entry {
  job: WaitingJob;
  reason: string;
  cancelDeadline: () => void;
}

/** Five minutes: long enough for sites to (re)connect after the server starts. */
const DEFAULT_TIMEOUT_SECONDS = 300;

const realClock: SchedulerClock = {
  setTimer(ms, fn) {
    const timer = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * Holds the jobs that cannot run yet and tries them again whenever something that could change
 * the answer happens: a job is submitted, a site comes online or goes offline, a job finishes
 * and frees its resources. No polling: between events only each job's deadline timer is
 * pending. A job still waiting at its deadline (its meta's `timeoutSeconds`, counted from when
 * it entered the loop, so a restarted server gives sites time to reconnect) is given up with
 * the last reason it could not run. Jobs are tried oldest first.
 *
 * @example
 * const loop = new SchedulerLoop({ sites: () => registry.states(), start, giveUp });
 * loop.submit({ id, meta });
 * registry.on("change", () => loop.sitesChanged());
 */
export class SchedulerLoop {
  readonly #options: SchedulerLoopOptions;
  readonly #clock: SchedulerClock;
  readonly #waiting = new Map<string, Entry>();
  #passing = false;
  #again = false;

  constructor(options: SchedulerLoopOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
  }

  /** A job submitted (or found SUBMITTED at restart): runs now if it can, else waits. */
  submit(job: WaitingJob): void {
    if (this.#waiting.has(job.id)) return;
    const seconds = job.meta.timeoutSeconds ?? this.#options.defaultTimeoutSeconds;
    const ms = (seconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    const cancelDeadline = this.#clock.setTimer(ms, () => this.#deadline(job.id));
    this.#waiting.set(job.id, { job, reason: "not tried yet", cancelDeadline });
    this.#pass();
  }

  /** Sites came online or went offline, or a job finished: try the waiting jobs again. */
  sitesChanged(): void {
    this.#pass();
  }

  /** A job that ended and freed its sites' resources: the same as `sitesChanged`. */
  jobFinished(): void {
    this.#pass();
  }

  /** Forgets a waiting job (aborted before it started); false if it was not waiting. */
  remove(jobId: string): boolean {
    const entry = this.#waiting.get(jobId);
    if (!entry) return false;
    entry.cancelDeadline();
    this.#waiting.delete(jobId);
    return true;
  }

  /** The jobs waiting, oldest first, with why each cannot run yet. */
  waiting(): { id: string; reason: string }[] {
    return [...this.#waiting.values()].map(({ job, reason }) => ({ id: job.id, reason }));
  }

  /** Cancels every deadline and forgets every waiting job. */
  close(): void {
    for (const entry of this.#waiting.values()) entry.cancelDeadline();
    this.#waiting.clear();
  }

  /** One try of every waiting job against one snapshot of the sites; re-entrant calls queue. */
  #pass(): void {
    if (this.#passing) {
      this.#again = true;
      return;
    }
    this.#passing = true;
    try {
      do {
        this.#again = false;
        const sites = this.#options.sites().map((s) => ({ ...s, runningJobs: [...s.runningJobs] }));
        for (const entry of [...this.#waiting.values()]) {
          if (!this.#waiting.has(entry.job.id)) continue; // removed by a callback in this pass
          const result = schedule(entry.job.meta, sites);
          if (!result.ok) {
            entry.reason = result.reason;
            continue;
          }
          for (const assigned of result.sites) {
            const site = sites.find((s) => s.name === assigned.name);
            site?.runningJobs.push({ jobId: entry.job.id, ...assigned });
          }
          this.remove(entry.job.id);
          try {
            this.#options.start(entry.job, result.sites);
          } catch (error) {
            // Before RUNNING, the only way for a job to end is not to be scheduled.
            const message = error instanceof Error ? error.message : String(error);
            this.#options.giveUp(entry.job, `could not be started: ${message}`);
          }
        }
      } while (this.#again);
    } finally {
      this.#passing = false;
    }
  }

  /** A job's deadline: one last try, then give up with the last reason. */
  #deadline(jobId: string): void {
    this.#pass();
    const entry = this.#waiting.get(jobId);
    if (!entry) return;
    this.#waiting.delete(jobId);
    const seconds = entry.job.meta.timeoutSeconds ?? this.#options.defaultTimeoutSeconds;
    const reason = `could not be scheduled within ${seconds ?? DEFAULT_TIMEOUT_SECONDS} s: ${entry.reason}`;
    this.#options.giveUp(entry.job, reason);
  }
}
