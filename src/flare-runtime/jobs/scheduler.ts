import { ALL_SITES, type JobMeta, type ResourceNeeds } from "./job-meta.ts";

/** What one site offers jobs (its resources.json). */
export interface SiteCapacity {
  gpus: number;
  memoryGb: number;
  /** Jobs that may run there at once. */
  maxJobs: number;
}

/** What a job already running at a site holds there. */
export interface RunningJob {
  jobId: string;
  gpus: number;
  memoryGb: number;
}

/** A site as the server's registry sees it when a job is scheduled. */
export interface SiteState {
  name: string;
  online: boolean;
  resources: SiteCapacity;
  runningJobs: readonly RunningJob[];
}

/** One site a job will run at, and what it takes there. */
export interface SiteAssignment {
  name: string;
  gpus: number;
  memoryGb: number;
}

export type ScheduleResult = { ok: true; sites: SiteAssignment[] } | { ok: false; reason: string };

/**
 * Decides where a job runs, or says why it cannot run now. Pure: the same meta and sites give
 * the same answer, so the policy is tested without a server.
 *
 * - The targets are the deploy map's sites (`@ALL`: every site in `sites`), in name order.
 * - A target takes the job when it is online, runs fewer than `maxJobs` jobs, and has the
 *   GPUs and memory the job's `resourceSpec` asks of it free, after what its running jobs hold
 *   (both are budgets a site hands out, not measurements).
 * - Every mandatory site must take the job, and at least `minSites` targets must.
 * The job runs at every target that can take it, not just `minSites` of them.
 */
export function schedule(meta: JobMeta, sites: readonly SiteState[]): ScheduleResult {
  const known = new Map(sites.map((site) => [site.name, site]));
  const targets = meta.deployMap.includes(ALL_SITES)
    ? [...known.keys()].sort()
    : [...meta.deployMap].sort();
  const able: SiteAssignment[] = [];
  const refusals = new Map<string, string>();
  for (const name of targets) {
    const need = needsAt(meta, name);
    const why = refusal(known.get(name), need);
    if (why === undefined) able.push({ name, ...need });
    else refusals.set(name, why);
  }
  for (const name of meta.mandatorySites) {
    const why = known.has(name) ? refusals.get(name) : "is not a known site";
    if (why !== undefined) return { ok: false, reason: `mandatory site ${name} ${why}` };
  }
  if (able.length < meta.minSites) {
    const details = [...refusals].map(([name, why]) => `${name} ${why}`).join("; ");
    const reason =
      targets.length === 0
        ? `needs ${meta.minSites} site(s); no site is known yet`
        : `needs ${meta.minSites} site(s), ${able.length} can take it${details ? `: ${details}` : ""}`;
    return { ok: false, reason };
  }
  return { ok: true, sites: able };
}

/** What the job asks of one site: its own entry in resourceSpec, else `@ALL`'s, else nothing. */
export function needsAt(meta: JobMeta, site: string): { gpus: number; memoryGb: number } {
  const spec: ResourceNeeds = meta.resourceSpec[site] ?? meta.resourceSpec[ALL_SITES] ?? {};
  return { gpus: spec.gpus ?? 0, memoryGb: spec.memoryGb ?? 0 };
}

/** Why `site` cannot take a job needing `need`, or undefined when it can. */
function refusal(
  site: SiteState | undefined,
  need: { gpus: number; memoryGb: number },
): string | undefined {
  if (!site) return "is not a known site";
  if (!site.online) return "is offline";
  const { resources, runningJobs } = site;
  if (runningJobs.length >= resources.maxJobs)
    return `already runs ${runningJobs.length} of its ${resources.maxJobs} job(s)`;
  const usedGpus = runningJobs.reduce((sum, job) => sum + job.gpus, 0);
  if (resources.gpus - usedGpus < need.gpus)
    return `has ${Math.max(0, resources.gpus - usedGpus)} of the ${need.gpus} GPU(s) needed free`;
  const usedMemory = runningJobs.reduce((sum, job) => sum + job.memoryGb, 0);
  if (resources.memoryGb - usedMemory < need.memoryGb)
    return `has ${Math.max(0, resources.memoryGb - usedMemory)} of the ${need.memoryGb} GB of memory needed free`;
  return undefined;
}
