import type { Code } from "../../core/fedbridge-error.ts";
import type { JsonValue } from "../jobs/job-meta.ts";
import type { NodeConfigValue, PrivacyPolicy } from "../provision/kit-config.ts";

/**
 * What a runtime job is made of: a server part that runs in the server's job process and
 * drives the job, and a site part that runs in each site's job process and answers it. A
 * runner is named by the job's meta.json (`app`); the runtime knows nothing else about it.
 */

/** A JSON value: payloads between a job's parts are plain data or bytes. */
export type Payload =
  | Uint8Array
  | string
  | number
  | boolean
  | null
  | Payload[]
  | { [key: string]: Payload };

export interface JobInfo {
  jobId: string;
  /** The job's meta.json `config`, with the submitter's overrides. */
  config: Record<string, unknown>;
  /** The job's unpacked folder on this machine. */
  dir: string;
  /** Where the job may write its outputs (logs, result.json, tracking files). */
  workspace: string;
  log(line: string): void;
  /**
   * Sends tracking events (plain objects, e.g. SummaryWriter's) to the server, which checks
   * and stores them for this job; a refused one is logged there and the job goes on.
   */
  track(events: readonly object[]): void;
  /** Aborted when the job is aborted; long work should stop then. */
  signal: AbortSignal;
}

/** A site's answer to a multicast. */
export type SiteReply =
  | {
      ok: true;
      /** The reply's bytes (read once; the file they waited in is removed). */
      read(): Promise<Uint8Array>;
      /** The file they wait in, to read in pieces (`discard` removes it). */
      file?: string;
      /** Or the bytes themselves, for a small reply that came whole (no file). */
      bytes?: Uint8Array;
      /** Drops the reply unread. */
      discard(): Promise<void>;
    }
  | { ok: false; code: Code; message: string };

/** A task's meta entries for one site (Task.siteMeta). */
export type TaskMeta = { [key: string]: JsonValue };

export interface MulticastOptions {
  timeout?: number;
  keys?: Readonly<Record<string, string>>;
  /** Each site's own meta entries (Task.siteMeta). */
  siteMeta?: Readonly<Record<string, TaskMeta>>;
}

/** What the server part of a job can do. */
export interface ServerJobContext extends JobInfo {
  /** The sites the job was deployed to, sorted by name. */
  sites: readonly string[];
  /** Sends a request to the job's part at `site`; resolves with its reply. */
  request(
    site: string,
    topic: string,
    payload: Payload,
    options?: { timeout?: number },
  ): Promise<Payload>;
  /**
   * Sends one payload to many sites and hands each site's reply to `onReply` as it arrives;
   * resolves once every site has answered or failed. The payload is written once and streamed
   * to each site, and replies wait on disk until read, so a large model is never held once
   * per site. `timeout` (seconds) bounds each site's answer; `keys` are the sites'
   * idempotency keys (Task.keys).
   */
  multicast(
    sites: readonly string[],
    topic: string,
    payload: readonly Uint8Array[],
    options: MulticastOptions,
    onReply: (site: string, reply: SiteReply) => void,
  ): Promise<void>;
  /**
   * Saves the job's state after `round` (durably, before it resolves); a server restarted
   * after a crash starts the job again with `resume` set to the newest one.
   */
  saveCheckpoint(round: number, state: readonly Uint8Array[]): Promise<void>;
  /** Set when the job was running when the server stopped: its newest checkpoint. */
  resume?: { round: number; read(): Promise<Uint8Array> };
  /** Records that a round completed, with its metrics (shown by `admin status` and `wait`). */
  roundCompleted(round: number, metrics?: Record<string, number>): void;
  /** The job's result, written to result.json. */
  setResult(result: Record<string, unknown>): void;
}

/** What the site part of a job gets. */
export interface SiteJobContext extends JobInfo {
  site: string;
  /** The site's privacy.json: the filters its scopes impose on every task of a job. */
  privacy: PrivacyPolicy;
  /** Every site the job runs at, sorted by name (this one among them). */
  jobSites: readonly string[];
  /** The site's own node config (its kit's node-config.json); empty when it has none. */
  nodeConfig: Readonly<Record<string, NodeConfigValue>>;
}

/**
 * A job's part at one site, made by its runner for that job alone: what it keeps between
 * requests and tasks (a loaded app, filter chains, executors) lives here and ends with the
 * job, never in module state a next job in the same process could see.
 */
export interface SitePart {
  /** Answers the server part's requests (`request`). */
  request?(topic: string, payload: Payload): Payload | Promise<Payload>;
  /**
   * Does the server part's tasks (`multicast`): the task's bytes in, the result's bytes out (as
   * pieces, written as they are: a large model is not joined into one buffer).
   */
  task?(topic: string, data: Uint8Array, siteMeta?: TaskMeta): Promise<readonly Uint8Array[]>;
}

/** A job runner module exports `runner`. */
export interface JobRunner {
  server(context: ServerJobContext): Promise<void>;
  /** Makes the job's part at a site, once per job, before its first request or task. */
  site?(context: SiteJobContext): SitePart;
}
