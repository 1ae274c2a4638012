import { ConnectError } from "@connectrpc/connect";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { AdminClient } from "../flare-runtime/admin/admin-client.ts";

/** A site as `/api/sites` lists it. */
export interface DashboardSite {
  name: string;
  org: string;
  online: boolean;
  /** ISO 8601; null if the site never connected. */
  lastHeartbeat: string | null;
}

/** A job as `/api/jobs` lists it, newest submitted first. */
export interface DashboardJob {
  id: string;
  name: string;
  status: string;
  round: number;
  submitter: string;
  submittedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  reason: string | null;
}

/** One scalar of a job, as `/api/jobs/:id/metrics` lists them (by tag, step, site). */
export interface DashboardScalar {
  site: string;
  tag: string;
  step: number;
  value: number;
  /** Seconds since the Unix epoch. */
  wallTime: number;
}

/**
 * The dashboard's JSON API: plain objects from the server's admin API, called as the admin
 * of the dashboard's kit, so the server authorizes and audits every call as usual.
 */
export interface DashboardApi {
  sites(): Promise<DashboardSite[]>;
  jobs(): Promise<DashboardJob[]>;
  metrics(jobId: string): Promise<DashboardScalar[]>;
}

/** Each call gives up after this long, so a hung server shows as unreachable. */
const CALL_TIMEOUT_MS = 5_000;

export function createDashboardApi(client: AdminClient): DashboardApi {
  const options = { timeoutMs: CALL_TIMEOUT_MS };
  return {
    async sites() {
      const { sites } = await call(() => client.listSites({}, options));
      return sites.map((s) => ({
        name: s.name,
        org: s.org,
        online: s.online,
        lastHeartbeat: s.lastHeartbeat || null,
      }));
    },
    async jobs() {
      const { jobs } = await call(() => client.listJobs({}, options));
      return jobs
        .map((j) => ({
          id: j.id,
          name: j.name,
          status: j.status,
          round: j.round,
          submitter: j.submitter,
          submittedAt: j.submittedAt,
          startedAt: j.startedAt || null,
          finishedAt: j.finishedAt || null,
          reason: j.reason || null,
        }))
        .sort((a, b) => b.submittedAt.localeCompare(a.submittedAt));
    },
    async metrics(jobId) {
      const { scalars } = await call(() => client.jobMetrics({ id: jobId }, options));
      return scalars.map(({ site, tag, step, value, wallTime }) => ({
        site,
        tag,
        step,
        value,
        wallTime,
      }));
    },
  };
}

/** Runs an admin call; its failure becomes a FedbridgeError with the server's code and message. */
async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof ConnectError) {
      const message =
        error.code === (Code.Unavailable as number)
          ? `the server is unreachable: ${error.rawMessage}`
          : error.rawMessage;
      throw new FedbridgeError(error.code as number, message, { cause: error });
    }
    throw FedbridgeError.from(error);
  }
}
