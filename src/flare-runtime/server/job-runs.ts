import { existsSync } from "node:fs";
import { appendFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellServer } from "../cell/cell-server.ts";
import { JobProcessHost } from "../job-process/job-process-host.ts";
import { type RunnerRegistry, runnerUrl } from "../job-process/runner-registry.ts";
import { unpackJobBundle } from "../jobs/job-bundle.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import type { JobStore } from "../jobs/job-store.ts";
import type { SiteAssignment } from "../jobs/scheduler.ts";
import { decodePayload, encodePayload } from "../protocol/payload-codec.ts";
import { encodeSiteMessage } from "../protocol/site-protocol.ts";
import { SiteCalls } from "./site-calls.ts";

export interface JobRunsOptions {
  store: JobStore;
  cells: CellServer;
  rootCaPem: string;
  /** The server workspace; each job gets `jobs/<id>/`. */
  workspace: string;
  runners: RunnerRegistry;
  /** Tracking events of a job's server part (the job's sites send theirs by cell). */
  onTracking?: (jobId: string, events: object[]) => void;
  /** Called when a job completes a round. */
  onRound?: (jobId: string) => void;
  /** Called when a job ends, whatever its status. */
  onFinished?: (jobId: string) => void;
  log?: (line: string) => void;
}

/** A checkpoint to resume a job from, and the sites the job was running at. */
export interface ResumePoint {
  round: number;
  file: string;
  assignments: readonly SiteAssignment[];
}

interface Run {
  assignments: readonly SiteAssignment[];
  sites: string[];
  /** The job's deploy message, the same for every site: encoded once, not once per site. */
  deployment?: Uint8Array;
  host?: JobProcessHost;
  /** Why the job was aborted, once it has been. */
  aborted?: string;
}

/** Time a site has to unpack and start a job, in ms. */
const DEPLOY_TIMEOUT_MS = 120_000;

/**
 * The jobs running on this server: each one's job process, its deployment to its sites, its
 * requests to them, and its end. A job process that dies fails its job alone.
 */
export class JobRuns {
  readonly #options: JobRunsOptions;
  readonly #running = new Map<string, Run>();
  readonly #calls: SiteCalls;
  #shuttingDown = false;
  /** The metrics of each job's last completed round (kept in memory, for status and wait). */
  readonly #roundMetrics = new Map<string, Record<string, number>>();

  constructor(options: JobRunsOptions) {
    this.#options = options;
    this.#calls = new SiteCalls(options.cells);
  }

  /** Jobs running now, for the scheduler: what each holds at which site. */
  running(): { id: string; assignments: readonly SiteAssignment[] }[] {
    return [...this.#running].map(([id, run]) => ({ id, assignments: run.assignments }));
  }

  roundMetrics(jobId: string): Record<string, number> | undefined {
    return this.#roundMetrics.get(jobId);
  }

  isRunning(jobId: string): boolean {
    return this.#running.has(jobId);
  }

  jobDir(jobId: string): string {
    return join(this.#options.workspace, "jobs", jobId);
  }

  /**
   * Starts a SUBMITTED job at the sites chosen; it counts as running from this call on (the
   * scheduler relies on that). Resolves when it has started, or failed to.
   */
  async start(
    job: JobRecord,
    assignments: readonly SiteAssignment[],
    resume?: ResumePoint,
  ): Promise<void> {
    const { store, rootCaPem } = this.#options;
    const sites = assignments.map((a) => a.name).sort();
    const run: Run = { assignments, sites };
    this.#running.set(job.id, run);
    if (!resume) store.setStatus(job.id, "RUNNING");
    const dir = this.jobDir(job.id);
    const log = (line: string) =>
      void appendFile(join(dir, "log.txt"), `${new Date().toISOString()} ${line}\n`).catch(
        () => {},
      );
    try {
      await mkdir(dir, { recursive: true });
      const bundle = {
        bytes: store.bundle(job.id),
        sha256: job.bundleSha256,
        signature: job.signature,
        submitterCertPem: job.submitterCertPem,
      };
      const { dir: appDir } = await unpackJobBundle(bundle, rootCaPem, join(dir, "app"));
      log(
        resume
          ? `resuming${resume.round > 0 ? ` after round ${resume.round}` : ""}: deploying to ${sites.join(", ")}`
          : `deploying to ${sites.join(", ")}`,
      );
      await Promise.all(sites.map((site) => this.#deploy(job, run, site)));
      if (run.aborted) throw new FedbridgeError(Code.Aborted, run.aborted);
      run.host = new JobProcessHost(
        {
          role: "server",
          jobId: job.id,
          runnerUrl: runnerUrl(this.#options.runners, job.meta.app),
          config: job.meta.config,
          dir: appDir,
          workspace: dir,
          sites,
          ...(resume ? { resume: { round: resume.round, file: resume.file } } : {}),
        },
        {
          request: (site, topic, payload, timeout) =>
            this.#calls.request(job.id, site, topic, payload, timeout),
          multicast: async (request, reply) => {
            await this.#calls.multicast(job.id, request, join(dir, "transfer"), reply);
            await rm(request.file, { force: true });
          },
          checkpoint: (round, file) => this.#checkpoint(job.id, run, round, file),
          round: (round, metrics) => {
            store.recordRound(job.id, round);
            if (metrics) this.#roundMetrics.set(job.id, metrics);
            this.#options.onRound?.(job.id);
          },
          result: (result) => {
            store.setResult(job.id, result as never);
            void writeFile(join(dir, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
          },
          log,
          tracking: (events) => this.#options.onTracking?.(job.id, events),
        },
      );
      log(`job process ${run.host.pid} started`);
      void run.host.exited.then((exit) =>
        this.#finish(job.id, exit.completed ? undefined : exit.reason),
      );
    } catch (error) {
      await this.#finish(job.id, `could not start: ${FedbridgeError.from(error).message}`);
    }
  }

  /**
   * A site came online (first connection, reconnection, or a restart): it is told which jobs
   * the server runs with it, so it stops any other (a job that ended or failed while it was
   * away), and each of those jobs is deployed to it again (a site that restarted lost them; one
   * that has them ignores it), so it takes part in their next rounds.
   */
  async siteOnline(site: string): Promise<void> {
    const { cells, store, log } = this.#options;
    const mine = [...this.#running].filter(([, run]) => run.sites.includes(site));
    try {
      await cells.request(
        site,
        "reconcile",
        encodeSiteMessage("reconcile", { jobIds: mine.map(([id]) => id) }),
        { timeout: 30_000 },
      );
      for (const [jobId, run] of mine) {
        const job = store.get(jobId);
        if (job !== undefined && run.host !== undefined) await this.#deploy(job, run, site);
      }
    } catch (error) {
      log?.(`could not reconcile jobs with ${site}: ${FedbridgeError.from(error).message}`);
    }
  }

  /**
   * Sends a job's deployment to one of its sites (resent ones are ignored there). The message
   * (bundle, signature, every site's name) is read and encoded once per run: with 1,000 sites,
   * doing it per site held the server's loop for seconds and 1,000 copies of the bundle.
   */
  #deploy(job: JobRecord, run: Run, site: string): Promise<Uint8Array> {
    run.deployment ??= encodeSiteMessage("deploy", {
      jobId: job.id,
      bytes: this.#options.store.bundle(job.id),
      sha256: job.bundleSha256,
      signature: job.signature,
      submitterCertPem: job.submitterCertPem,
      config: job.meta.config,
      sites: run.sites,
    });
    return this.#options.cells.request(site, "deploy", run.deployment, {
      timeout: DEPLOY_TIMEOUT_MS,
    });
  }

  /**
   * Where a job that was running when the server stopped can pick up: its newest checkpoint
   * and the sites it ran at; undefined when it saved none (its runner cannot resume, or it
   * had not finished a round).
   */
  resumePoint(jobId: string): ResumePoint | undefined {
    const checkpoint = this.#options.store.latestCheckpoint(jobId);
    if (checkpoint === undefined) return undefined;
    const { file, assignments } = decodePayload<Omit<ResumePoint, "round">>(
      checkpoint.state,
      "checkpoint",
    );
    return existsSync(file) ? { round: checkpoint.round, file, assignments } : undefined;
  }

  /** Records a checkpoint in the store, then drops the files of older ones. */
  #checkpoint(jobId: string, run: Run, round: number, file: string): void {
    const state: Omit<ResumePoint, "round"> = { file, assignments: run.assignments };
    this.#options.store.saveCheckpoint(jobId, round, encodePayload(state));
    const dir = dirname(file);
    void readdir(dir)
      .then((names) =>
        Promise.all(
          names
            .filter((name) => Number(/^round-(\d+)\.bin$/.exec(name)?.[1] ?? round) < round - 1)
            .map((name) => rm(join(dir, name), { force: true })),
        ),
      )
      .catch(() => {});
  }

  /** Aborts a running job: its process is stopped, its sites told, its status ABORTED. */
  async abort(jobId: string, reason: string): Promise<void> {
    const run = this.#running.get(jobId);
    if (run === undefined) return;
    run.aborted = reason;
    if (run.host) await run.host.stop();
  }

  /**
   * Stops every job's server process (server shutdown). A job with a checkpoint stays RUNNING,
   * its sites' processes untouched, and resumes when the server starts again; the others end
   * FAILED unless they finish first.
   */
  async stopAll(): Promise<void> {
    this.#shuttingDown = true;
    await Promise.all([...this.#running.values()].map((run) => run.host?.stop(1000)));
  }

  async #finish(jobId: string, failure: string | undefined): Promise<void> {
    const run = this.#running.get(jobId);
    if (run === undefined) return;
    this.#running.delete(jobId);
    if (failure !== undefined && this.#shuttingDown && !run.aborted && this.resumePoint(jobId)) {
      this.#options.log?.(
        `job ${jobId} stopped with the server: it resumes when the server starts`,
      );
      return;
    }
    const { store, cells } = this.#options;
    const status = run.aborted
      ? "FINISHED:ABORTED"
      : failure
        ? "FINISHED:FAILED"
        : "FINISHED:COMPLETED";
    const reason = run.aborted ?? failure;
    store.setStatus(jobId, status, reason ? { reason } : {});
    this.#options.log?.(`job ${jobId} ${status}${reason ? `: ${reason}` : ""}`);
    // Tasks and results in transit are of no use now; checkpoints only until the job completes.
    const leftovers = status === "FINISHED:COMPLETED" ? ["transfer", "checkpoints"] : ["transfer"];
    for (const name of leftovers)
      void rm(join(this.jobDir(jobId), name), { recursive: true, force: true });
    // A site that misses this (offline, frozen) stops the job when it reconnects (siteOnline).
    await Promise.all(
      run.sites.map((site) =>
        cells
          .request(site, "stop", encodeSiteMessage("stop", { jobId }), { timeout: 10_000 })
          .catch(() => {}),
      ),
    );
    this.#options.onFinished?.(jobId);
  }
}
