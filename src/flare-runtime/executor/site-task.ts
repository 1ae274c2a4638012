import { applyFilters } from "../filters/apply-filters.ts";
import { type FilterChains, jobFilterChains } from "../filters/filter-chain.ts";
import { receivedModel, seesUpdate } from "../filters/update-view.ts";
import type { SiteJobContext, TaskMeta } from "../job-process/job-runner.ts";
import type { Shareable } from "../shareable/shareable.ts";
import { decodeShareable, encodeShareable } from "../shareable/shareable-codec.ts";

/** What a site's part in a task needs to know of its job. */
export type SiteTaskJob = Pick<SiteJobContext, "site" | "jobId" | "privacy" | "config" | "log">;

/** One job's tasks at a site, each through the site's and the job's privacy filters. */
export interface SiteTasks {
  /** `siteMeta`: this site's own meta entries (Task.siteMeta), merged over the task's. */
  run(
    topic: string,
    bytes: Uint8Array,
    siteMeta: TaskMeta | undefined,
    execute: (data: Shareable) => Shareable | Promise<Shareable>,
  ): Promise<Uint8Array[]>;
}

/**
 * A site's part in the tasks of one job, whoever does the work (an executor, the bridge's
 * ClientApp): the task's data passes the site's privacy filters and then the job's on its way
 * in, the result passes them on its way out, so no job runs at a site without the site's
 * filters. The job's scope and filters are its config's `privacyScope` and `filters`; its
 * chains are made at its first task (a chain that cannot be made fails that task) and kept by
 * this object, which the job's owner holds for the job alone. A WEIGHTS result meets the
 * filters that change WEIGHT_DIFF only as an update against the model the task brought
 * (update-view.ts). Each filter logs, per task, whether it applied and why not.
 */
export function createSiteTasks(job: SiteTaskJob): SiteTasks {
  let chains: FilterChains | undefined;
  return {
    run: (topic, bytes, siteMeta, execute) => {
      chains ??= jobFilterChains(job.site, job.privacy, job.config);
      const data = decodeShareable(bytes, `task ${topic}`);
      if (siteMeta !== undefined) data.meta = { ...data.meta, ...siteMeta };
      return runSiteTask(chains, topic, data, job, execute);
    },
  };
}

async function runSiteTask(
  chains: FilterChains,
  topic: string,
  data: Shareable,
  job: SiteTaskJob,
  execute: (data: Shareable) => Shareable | Promise<Shareable>,
): Promise<Uint8Array[]> {
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
