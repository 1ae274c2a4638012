import type { Shareable } from "../shareable/shareable.ts";

/** What an executor knows about where it runs. */
export interface ExecutorContext {
  site: string;
  jobId: string;
  /** Every site of the job, sorted by name (this one among them). */
  jobSites: readonly string[];
  /** The job's config (meta.json `config` with the submitter's overrides). */
  config: Readonly<Record<string, unknown>>;
  /** The job's workspace at this site. */
  workspace: string;
  log(line: string): void;
  /** Aborted when the job is: long work should stop. */
  signal: AbortSignal;
}

/**
 * The site side of FLARE's programming model: does the tasks routed to it by name and returns
 * a result. The data it gets has passed the site's and the job's task-data filters; what it
 * returns passes the task-result filters before it leaves the site. Throwing gives the server
 * an ERROR result with the message.
 *
 * ```ts
 * export const executor: Executor = {
 *   async execute(task, data, context) {
 *     const model = train(data.records, context.site);
 *     return createShareable(DataKind.WEIGHTS, model, { numExamples: 500 });
 *   },
 * };
 * ```
 */
export interface Executor {
  execute(task: string, data: Shareable, context: ExecutorContext): Shareable | Promise<Shareable>;
}
