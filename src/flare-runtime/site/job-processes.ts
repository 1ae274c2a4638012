import { join } from "node:path";
import type { Logger } from "pino";
import { writeWhole } from "../../core/direct-file.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { writeFolder } from "../../core/folder-bundle.ts";
import { pathInside } from "../../core/security/path-inside.ts";
import type { CellSite } from "../cell/cell-site.ts";
import { type JobProcessEvents, JobProcessHost } from "../job-process/job-process-host.ts";
import type { JobStart } from "../job-process/job-protocol.ts";
import { type RunnerRegistry, runnerUrl } from "../job-process/runner-registry.ts";
import { JOB_BUNDLE_LABEL } from "../jobs/job-bundle.ts";
import { encodeSiteMessage } from "../protocol/site-protocol.ts";
import type { TaskHeader } from "../protocol/task-frame.ts";
import { KeptResults } from "./kept-results.ts";
import type { SiteKit } from "./read-site-kit.ts";
import type { DeployedJob, SiteJobs, TaskBody } from "./site-jobs.ts";
import { streamKeptFile } from "./stream-kept-file.ts";

export interface JobProcessesOptions {
  kit: SiteKit;
  /** Jobs are unpacked and run in `<workspace>/jobs/<id>/`. */
  workspace: string;
  runners: RunnerRegistry;
  log: Logger;
  /** The site's cell, for the jobs' tracking events (set once it exists). */
  cell: () => CellSite | undefined;
}

/**
 * A site parent's jobs: one process per job, in its own folder. A process that dies mid-job
 * is started again (its app state is new, as after a node restart): at once if it had answered
 * the server, so it is loaded by the job's next task, which waits for it; otherwise only when
 * the next task comes, so a process that cannot start is not started over and over.
 */
export class JobProcesses implements SiteJobs {
  readonly #options: JobProcessesOptions;
  /** Each running job's process start, to start it again if it dies. */
  readonly #deployments = new Map<string, { init: JobStart; events: JobProcessEvents }>();
  readonly #hosts = new Map<string, JobProcessHost>();
  /** Processes that answered a task or request: proven to start. */
  readonly #answered = new WeakSet<JobProcessHost>();
  readonly #kept = new Map<string, KeptResults>();

  constructor(options: JobProcessesOptions) {
    this.#options = options;
  }

  async start({ deployment, checked }: DeployedJob): Promise<void> {
    const { kit, log } = this.#options;
    const { jobId } = deployment;
    const dir = pathInside(this.#options.workspace, "jobs", jobId);
    const appDir = await writeFolder(checked.files, join(dir, "app"), { label: JOB_BUNDLE_LABEL });
    const init: JobStart = {
      type: "start",
      role: "site",
      jobId,
      runnerUrl: runnerUrl(this.#options.runners, checked.meta.app),
      config: deployment.config,
      dir: appDir,
      workspace: dir,
      sites: [kit.config.name, ...deployment.sites],
      privacy: kit.privacy,
      nodeConfig: kit.nodeConfig,
    };
    const events: JobProcessEvents = {
      log: (line) => log.info({ job: jobId }, line),
      // Tracking events go to the server, which checks and stores them (fire and forget).
      tracking: (events) =>
        void this.#options
          .cell()
          ?.request("tracking", encodeSiteMessage("tracking", { jobId, events }))
          .catch((error) =>
            log.warn(`tracking events of job ${jobId} lost: ${FedbridgeError.from(error).message}`),
          ),
    };
    this.#deployments.set(jobId, { init, events });
    this.#launch(jobId);
  }

  has(jobId: string): boolean {
    return this.#deployments.has(jobId);
  }

  running(): string[] {
    return [...this.#deployments.keys()];
  }

  async task(
    jobId: string,
    topic: string,
    body: TaskBody,
    _signal: AbortSignal,
    { key, meta }: Pick<TaskHeader, "key" | "meta"> = {},
  ) {
    const run = async () => {
      const host = this.#process(jobId);
      const result = await host.task(topic, body.chunks, { size: body.size, siteMeta: meta });
      this.#answered.add(host);
      return result;
    };
    if (key === undefined) return run();
    // A keyed result is kept (on disk) before it goes, for a server that asks again.
    const keep = async () =>
      writeWhole(
        pathInside(this.#options.workspace, "jobs", jobId, "transfer", `${key}.result`),
        await run(),
      );
    const again = () => {
      void body.chunks.return?.();
      this.#options.log.info(
        { job: jobId },
        `task ${key.slice(0, 12)} of job ${jobId} came again (the server restarted): it gets the result it had`,
      );
    };
    return streamKeptFile(await this.#keptResults(jobId).once(key, keep, again));
  }

  async request(jobId: string, topic: string, payload: Parameters<JobProcessHost["request"]>[1]) {
    const host = this.#process(jobId);
    const reply = await host.request(topic, payload);
    this.#answered.add(host);
    return reply;
  }

  async stop(jobId: string): Promise<void> {
    this.#deployments.delete(jobId);
    await this.#hosts.get(jobId)?.stop();
    await this.#kept.get(jobId)?.clear();
    this.#kept.delete(jobId);
  }

  async close(): Promise<void> {
    this.#deployments.clear();
    await Promise.all([...this.#hosts.values()].map((host) => host.stop(1000)));
  }

  #keptResults(jobId: string): KeptResults {
    let kept = this.#kept.get(jobId);
    if (kept === undefined) {
      kept = new KeptResults(pathInside(this.#options.workspace, "jobs", jobId, "kept"));
      this.#kept.set(jobId, kept);
    }
    return kept;
  }

  /** The job's process; one that died mid-job is started again. */
  #process(jobId: string): JobProcessHost {
    const host = this.#hosts.get(jobId) ?? this.#launch(jobId);
    if (host === undefined)
      throw new FedbridgeError(
        Code.NotFound,
        `job ${jobId} is not running at ${this.#options.kit.config.name}`,
      );
    return host;
  }

  /** Starts (or starts again) the process of a deployed job. */
  #launch(jobId: string): JobProcessHost | undefined {
    const deployment = this.#deployments.get(jobId);
    if (deployment === undefined) return undefined;
    const { log } = this.#options;
    const { type: _, ...init } = deployment.init;
    const host = new JobProcessHost(init, deployment.events);
    this.#hosts.set(jobId, host);
    log.info({ job: jobId }, `job ${jobId} process ${host.pid} started`);
    void host.exited.then((exit) => {
      log.info(
        { job: jobId },
        `job ${jobId} process ended${exit.reason ? `: ${exit.reason}` : ""}`,
      );
      if (this.#hosts.get(jobId) !== host) return;
      this.#hosts.delete(jobId);
      // Still deployed (a stop or close forgets the job first): it died mid-job.
      if (this.#answered.has(host)) this.#launch(jobId);
    });
    return host;
  }
}
