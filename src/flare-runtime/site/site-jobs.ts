import type { Payload } from "../job-process/job-runner.ts";
import type { CheckedJobBundle } from "../jobs/job-bundle.ts";
import type { SiteMessage } from "../protocol/site-protocol.ts";
import type { TaskHeader } from "../protocol/task-frame.ts";

/** A task's bytes as they arrive from the server. */
export interface TaskBody {
  /** How many there are, when the server said. */
  size: number | undefined;
  /** The bytes; `return()` drops the rest unread. */
  chunks: AsyncIterableIterator<Uint8Array>;
}

/** A job deployed to a site, its bundle checked (signature, hash, files) and its filters known. */
export interface DeployedJob {
  deployment: SiteMessage<"deploy">;
  checked: CheckedJobBundle;
}

/**
 * What runs the jobs deployed to a site: job processes (a site parent), or the SuperNodes
 * connected to the bridge's Fleet API. The site service (site-service.ts) does the rest —
 * the protocol, the checks, reconciling with the server — the same way for both.
 */
export interface SiteJobs {
  /** Starts a job. Throws to refuse it (the reason reaches the server). */
  start(job: DeployedJob): Promise<void>;
  /** Whether a job runs here now. */
  has(jobId: string): boolean;
  /** The jobs running here. */
  running(): string[];
  /**
   * A task of a running job, its bytes as they arrive: resolves with the result's bytes, as
   * pieces or a stream. `key`: the task's idempotency key (Task.keys); what
   * runs jobs in processes answers a key it answered before with the result it had. `meta`:
   * this site's own meta entries (Task.siteMeta), for the job's part to merge over the task's.
   */
  task(
    jobId: string,
    topic: string,
    body: TaskBody,
    signal: AbortSignal,
    ofSite?: Pick<TaskHeader, "key" | "meta">,
  ): Promise<Uint8Array | AsyncIterable<Uint8Array>>;
  /** A small request of a job's server part. */
  request(jobId: string, topic: string, payload: Payload): Promise<Payload>;
  /** Stops a job here; nothing if it does not run. */
  stop(jobId: string): Promise<void>;
  /** Stops every job (the site shuts down). */
  close(): Promise<void>;
}
