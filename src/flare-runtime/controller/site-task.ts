import { applyFilters } from "../filters/apply-filters.ts";
import { type FilterChains, jobFilterChains } from "../filters/filter-chain.ts";
import { receivedModel, seesUpdate } from "../filters/update-view.ts";
import type { SiteJobContext } from "../job/job-runner.ts";
import type { Shareable } from "../task/shareable.ts";
import { decodeShareable, encodeShareable } from "../task/shareable-codec.ts";

/**
 * Each job's chains, made at its first task: a shim serves job after job in one process, so
 * only the most recent jobs' are kept (a job beyond them makes its chains again).
 */
const chainsByJob = new Map<string, FilterChains>();
const KEPT_JOBS = 32;

/** What a site's part in a task needs to know of its job. */
export type SiteTaskJob = Pick<SiteJobContext, "site" | "jobId" | "privacy" | "config" | "log">;

/**
 * A site's part in one task, whoever does the work (an executor, the bridge's ClientApp):
 * the task's data passes the site's privacy filters and then the job's on its way in, the
 * result passes them on its way out, so no job runs at a site without the site's filters.
 * The job's scope and filters are its config's `privacyScope` and `filters`. A WEIGHTS result
 * meets the filters that change WEIGHT_DIFF only as an update against the model the task
 * brought (update-view.ts). Each filter logs, per task, whether it applied and why not.
 */
export async function runSiteTask(
  topic: string,
  bytes: Uint8Array,
  job: SiteTaskJob,
  execute: (data: Shareable) => Shareable | Promise<Shareable>,
): Promise<Uint8Array[]> {
  const chains = chainsByJob.get(job.jobId) ?? jobFilterChains(job.site, job.privacy, job.config);
  chainsByJob.delete(job.jobId);
  chainsByJob.set(job.jobId, chains); // now the most recent
  if (chainsByJob.size > KEPT_JOBS) chainsByJob.delete(chainsByJob.keys().next().value as string);
  const data = decodeShareable(bytes, `task ${topic}`);
  const context = {
    site: job.site,
    jobId: job.jobId,
    task: topic,
    round: typeof data.meta.round === "number" ? data.meta.round : undefined,
  };
  const log = job.log;
  const filtered = await applyFilters(
    chains.taskData,
    data,
    { ...context, direction: "taskData" },
    { log },
  );
  // What the executor receives, copied before it runs, only if a result filter needs it.
  const received = chains.taskResult.some(seesUpdate) ? receivedModel(filtered) : undefined;
  const result = await execute(filtered);
  return encodeShareable(
    await applyFilters(
      chains.taskResult,
      result,
      { ...context, direction: "taskResult" },
      { received, log },
    ),
  );
}
