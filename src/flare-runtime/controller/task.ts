import type { TaskMeta } from "../job-process/job-runner.ts";
import type { Shareable } from "../shareable/shareable.ts";
import type { ShareableFile } from "../shareable/shareable-file.ts";

/** How a site's part in a task ended. */
export const ReturnCode = {
  OK: "OK",
  /** No result before the task's timeout, or before the task ended without it. */
  TIMEOUT: "TIMEOUT",
  /** The site's executor, its job process or a filter failed; the message says why. */
  ERROR: "ERROR",
  /** The site is gone: offline, or it went offline during the task. */
  CLIENT_DEAD: "CLIENT_DEAD",
  /** The site refused the task: the job does not run there, or its policy refused it. */
  REFUSED: "REFUSED",
  /** The job was aborted. */
  ABORTED: "ABORTED",
} as const;
export type ReturnCode = (typeof ReturnCode)[keyof typeof ReturnCode];

/** A unit of work for sites: routed by `name` to an executor there. */
export interface Task {
  name: string;
  data: Shareable;
  /** Seconds a site has to answer; 0 for no limit. Default: 0. */
  timeout?: number;
  /**
   * Each site's idempotency key for this task (letters, digits, '-' and '_'). A site given a
   * task again under a key it answered before (the server restarted mid-task and sends again
   * what its sites were working on) answers with the result it had, without running the task
   * again. Sites keep the results of their most recent keyed tasks of a job.
   */
  keys?: Readonly<Record<string, string>>;
  /**
   * Each site's own entries of the task's meta, sent to that site alone and merged over
   * `data.meta` there: what differs per site (a message's envelope) need not travel to all.
   */
  siteMeta?: Readonly<Record<string, TaskMeta>>;
}

/** One site's answer to a task. */
export interface TaskResult {
  site: string;
  code: ReturnCode;
  /** Why the code is not OK. */
  message?: string;
  /**
   * The result, for OK: read once. Results wait on disk until read, so a workflow holding
   * several 400 MB results holds paths, not models (a small one, up to 64 KiB, waits in memory).
   */
  read(): Promise<Shareable>;
  /**
   * For an OK result: moves its file to `path` (same file system), or writes a small one
   * there, where it stays after `read` — a journal keeps results this way without copying
   * large ones.
   */
  keep?(path: string): Promise<void>;
  /**
   * For an OK result waiting on disk: the file, to read arrays in chunks (a running sum of
   * large models never holds one whole). Closing it drops the result.
   */
  open?(): Promise<ShareableFile>;
}
