import { join } from "node:path";
import { Code, FedbridgeError } from "../../src/core/fedbridge-error.ts";
import { writeFolder } from "../../src/core/folder-bundle.ts";
import { gatherBytes } from "../../src/core/gather-bytes.ts";
import { pathInside } from "../../src/core/security/path-inside.ts";
import type {
  Payload,
  SiteJobContext,
  SitePart,
} from "../../src/flare-runtime/job-process/job-runner.ts";
import { JOB_BUNDLE_LABEL } from "../../src/flare-runtime/jobs/job-bundle.ts";
import type { TaskHeader } from "../../src/flare-runtime/protocol/task-frame.ts";
import type { SiteKit } from "../../src/flare-runtime/site/read-site-kit.ts";
import type { DeployedJob, SiteJobs, TaskBody } from "../../src/flare-runtime/site/site-jobs.ts";

/** Makes a job's part at a site, by the job's runner (meta.json `app`). */
export type SitePartMaker = (job: SiteJobContext) => SitePart;

export interface InProcessJobsOptions {
  kit: SiteKit;
  /** Site parts by runner name; a job of another runner is refused. */
  runners: Readonly<Record<string, SitePartMaker>>;
  /**
   * Job folders of this process, by job id and bundle hash, shared by its sites: every site
   * checks the bundle it was sent, but one copy on disk means one copy of the app's modules
   * in this process (a module is cached by its URL), not one per site.
   */
  folders: Map<string, Promise<string>>;
  /** This process's turns: its sites' tasks run one at a time (see Turns). */
  turns: Turns;
  /** Where job folders are written (`<workspace>/jobs/<id>-<hash>/`). */
  workspace: string;
  log(jobId: string, line: string): void;
  /** Sends a job's tracking events to the server. */
  track(jobId: string, events: readonly object[]): void;
}

interface RunningJob {
  part: SitePart;
  abort: AbortController;
}

/**
 * A site's jobs, their site parts run in this process, as a job process would run one
 * (job-process.ts): the same SiteJobContext, the same runner's part, the same task files. For
 * the bench only, to hold hundreds of sites in a job in one process; a crash here is every
 * site's, which a real site's job processes keep apart.
 */
export class InProcessJobs implements SiteJobs {
  readonly #options: InProcessJobsOptions;
  readonly #jobs = new Map<string, RunningJob>();

  constructor(options: InProcessJobsOptions) {
    this.#options = options;
  }

  async start({ deployment, checked }: DeployedJob): Promise<void> {
    const { kit, folders } = this.#options;
    const { jobId } = deployment;
    const makePart = this.#options.runners[checked.meta.app];
    if (makePart === undefined)
      throw new FedbridgeError(
        Code.InvalidArgument,
        `no job runner named '${checked.meta.app}' at a bench site (known: ${Object.keys(this.#options.runners).join(", ")})`,
      );
    const key = `${jobId}-${deployment.sha256.slice(0, 16)}`;
    const dir = pathInside(this.#options.workspace, "jobs", key);
    let appDir = folders.get(key);
    if (appDir === undefined) {
      appDir = writeFolder(checked.files, join(dir, "app"), { label: JOB_BUNDLE_LABEL });
      folders.set(key, appDir);
      appDir.catch(() => folders.delete(key));
    }
    const abort = new AbortController();
    const part = makePart({
      jobId,
      config: deployment.config,
      dir: await appDir,
      workspace: dir,
      log: (line) => this.#options.log(jobId, line),
      track: (events) => this.#options.track(jobId, events),
      signal: abort.signal,
      site: kit.config.name,
      jobSites: deployment.sites,
      privacy: kit.privacy,
      nodeConfig: kit.nodeConfig,
    });
    this.#jobs.set(jobId, { part, abort });
  }

  has(jobId: string): boolean {
    return this.#jobs.has(jobId);
  }

  running(): string[] {
    return [...this.#jobs.keys()];
  }

  async task(
    jobId: string,
    topic: string,
    body: TaskBody,
    _signal: AbortSignal,
    ofSite?: Pick<TaskHeader, "meta">,
  ) {
    const { part } = this.#job(jobId);
    if (part.task === undefined)
      throw new FedbridgeError(Code.Unimplemented, "this job does no tasks");
    const data = await gatherBytes(body.chunks, body.size);
    return pieces(
      await this.#options.turns.take(() => part.task?.(topic, data, ofSite?.meta) ?? []),
    );
  }

  async request(jobId: string, topic: string, payload: Payload): Promise<Payload> {
    const { part } = this.#job(jobId);
    if (part.request === undefined)
      throw new FedbridgeError(Code.Unimplemented, "this job answers no requests");
    return part.request(topic, payload);
  }

  async stop(jobId: string): Promise<void> {
    this.#jobs.get(jobId)?.abort.abort(new FedbridgeError(Code.Aborted, "the job was aborted"));
    this.#jobs.delete(jobId);
  }

  async close(): Promise<void> {
    for (const jobId of this.running()) await this.stop(jobId);
  }

  #job(jobId: string): RunningJob {
    const job = this.#jobs.get(jobId);
    if (job === undefined)
      throw new FedbridgeError(
        Code.NotFound,
        `job ${jobId} is not running at ${this.#options.kit.config.name}`,
      );
    return job;
  }
}

/**
 * One task at a time for all of a process's sites, with a pass through the event loop between
 * two. Hundreds of sites' tasks arriving together would otherwise run back to back in one
 * poll phase (each one's work is promise continuations): no timer runs meanwhile, so no
 * heartbeat is sent, and the server calls every site of the process offline.
 */
export class Turns {
  #last: Promise<unknown> = Promise.resolve();

  take<T>(work: () => T | Promise<T>): Promise<T> {
    const mine = this.#last.then(() => new Promise((r) => setImmediate(r))).then(work);
    this.#last = mine.catch(() => undefined);
    return mine;
  }
}

async function* pieces(result: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* result;
}
