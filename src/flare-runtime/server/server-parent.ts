import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createLogger, type LogFormat } from "../../core/logger.ts";
import { Notifier } from "../../core/notifier.ts";
import { TrackingStore, trackingStorePath } from "../../tracking/tracking-store.ts";
import { pinoCellLogger } from "../cell/cell-logger.ts";
import { createCellServer } from "../cell/cell-server.ts";
import { cellRoutes } from "../cell/cell-service.ts";
import { createMtlsServer } from "../cell/mtls-server.ts";
import { BUILTIN_RUNNERS, type RunnerRegistry } from "../job-process/runner-registry.ts";
import { AuditLog } from "../jobs/audit-log.ts";
import { JobStore } from "../jobs/job-store.ts";
import type { SiteCapacity, SiteState } from "../jobs/scheduler.ts";
import { SchedulerLoop } from "../jobs/scheduler-loop.ts";
import { decodeSiteMessage } from "../protocol/site-protocol.ts";
import { readStartupKit } from "../provision/read-startup-kit.ts";
import { ADMIN_MAX_REQUEST_BYTES, admitAdmins } from "./admin-gate.ts";
import { registerAdminService } from "./admin-service.ts";
import { JobRuns } from "./job-runs.ts";

export interface ServerParentOptions {
  /** The server's startup kit. */
  kitDir: string;
  /** Where jobs, the job store and the audit log live. Default: the kit folder. */
  workspace?: string;
  /** Listen here instead of the kit's port (0: any free port). */
  port?: number;
  /** Default: all interfaces. */
  host?: string;
  /** Heartbeats between the server and its sites, in ms. Default: 5,000. */
  heartbeatIntervalMs?: number;
  /** Job runners besides the built-in ones (meta.json `app` → module URL). */
  runners?: RunnerRegistry;
  /**
   * Makes the server's tracking of its jobs, which alone checks and stores the events their
   * parts send (the CLI plugs in fedbridge/tracking's createJobTracking) and logs its warnings
   * with `warn`. Default: events are dropped.
   */
  tracking?: (workspace: string, warn: (line: string) => void) => ServerTracking;
  /** How stdout shows the log (server.log is always JSON lines). Default: see createLogger. */
  logFormat?: LogFormat;
}

/** Where the server puts the tracking events of its jobs' parts. */
export interface ServerTracking {
  /**
   * Events of a job's part at `site`, or of its server part (`site` undefined), which may name
   * the site an event is about (it reports each site's round metrics).
   */
  track(jobId: string, site: string | undefined, events: readonly object[]): void;
  /** The job ended: what was kept open for it is closed. */
  jobFinished(jobId: string): void;
  close(): void;
}

export interface ServerParent {
  port: number;
  close(): Promise<void>;
}

/**
 * The server parent: one mTLS port for the sites' cells and the admin API, the site registry,
 * the job store, the scheduler, one job process per running job, and the audit log.
 */
export async function startServerParent(options: ServerParentOptions): Promise<ServerParent> {
  const kit = await readStartupKit(options.kitDir);
  if (kit.type !== "server")
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${options.kitDir} is a ${kit.type} kit, not a server's`,
    );
  const workspace = resolve(options.workspace ?? kit.dir);
  mkdirSync(join(workspace, "jobs"), { recursive: true });
  const log = createLogger({
    name: kit.config.name,
    base: { server: kit.config.name },
    file: join(workspace, "server.log"),
    ...(options.logFormat ? { format: options.logFormat } : {}),
  });
  const cellLogger = pinoCellLogger(log);

  const store = new JobStore(join(workspace, "jobs.db"));
  const audit = new AuditLog(join(workspace, "audit.log"));
  // Written by `jobTracking` below; read here for the admin API's JobMetrics.
  const tracking = new TrackingStore(trackingStorePath(workspace));
  const jobsChanged = new Notifier();
  const resources = new Map<string, SiteCapacity>();
  const cells = createCellServer({
    name: kit.config.name,
    participants: kit.config.participants,
    ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    logger: cellLogger,
  });

  const jobTracking = options.tracking?.(workspace, (line) => log.warn(line));
  const runs: JobRuns = new JobRuns({
    store,
    cells,
    rootCaPem: kit.rootCaPem,
    workspace,
    runners: { ...BUILTIN_RUNNERS, ...options.runners },
    onRound: () => jobsChanged.notify(),
    onTracking: (jobId, events) => jobTracking?.track(jobId, undefined, events),
    onFinished: (jobId) => {
      jobTracking?.jobFinished(jobId);
      jobsChanged.notify();
      scheduler.jobFinished();
    },
    log: (line) => log.info(line),
  });
  const siteStates = (): SiteState[] =>
    cells.sites().map((site) => ({
      name: site.name,
      online: site.online,
      // A site that has not told its resources yet takes no job.
      resources: resources.get(site.name) ?? { gpus: 0, memoryGb: 0, maxJobs: 0 },
      runningJobs: runs
        .running()
        .flatMap(({ id, assignments }) =>
          assignments
            .filter((a) => a.name === site.name)
            .map((a) => ({ jobId: id, gpus: a.gpus, memoryGb: a.memoryGb })),
        ),
    }));
  const scheduler: SchedulerLoop = new SchedulerLoop({
    sites: siteStates,
    start: (job, sites) => {
      const record = store.get(job.id);
      if (record) void runs.start(record, sites).finally(() => jobsChanged.notify());
    },
    giveUp: (job, reason) => {
      store.setStatus(job.id, "FINISHED:CAN_NOT_SCHEDULE", { reason });
      log.warn({ job: job.id }, `job ${job.id} cannot be scheduled: ${reason}`);
      jobsChanged.notify();
    },
  });

  cells.handle("tracking", async ({ peer, payload }) => {
    const { jobId, events } = decodeSiteMessage("tracking", await payload.bytes());
    if (!runs.isRunning(jobId))
      throw new FedbridgeError(Code.FailedPrecondition, `job ${jobId} is not running`);
    jobTracking?.track(jobId, peer, events);
    return new Uint8Array();
  });
  cells.handle("site-info", async ({ peer, payload }) => {
    const info = decodeSiteMessage("site-info", await payload.bytes());
    resources.set(peer, {
      gpus: Number(info.resources.gpus ?? 0),
      memoryGb: Number(info.resources.memoryGb ?? 0),
      maxJobs: Number(info.resources.maxJobs ?? 1),
    });
    scheduler.sitesChanged();
    return new Uint8Array();
  });
  cells.subscribe((event) => {
    scheduler.sitesChanged();
    if (event.type === "online") void runs.siteOnline(event.site.name);
  });

  // Jobs the last run of the server left behind: those with a checkpoint resume from it.
  for (const job of store.jobsInStatus("RUNNING")) {
    const resume = runs.resumePoint(job.id);
    if (resume === undefined) {
      store.setStatus(job.id, "FINISHED:FAILED", {
        reason: "the server restarted while the job was running, before it saved a checkpoint",
      });
      continue;
    }
    log.info({ job: job.id }, `job ${job.id} resumes after round ${resume.round}`);
    void runs.start(job, resume.assignments, resume).finally(() => jobsChanged.notify());
  }
  for (const job of store.jobsInStatus("SUBMITTED"))
    scheduler.submit({ id: job.id, meta: job.meta });

  const server = createMtlsServer({
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    logger: cellLogger,
    streamRoutes: cellRoutes(cells),
    // Who may call the admin API is known from the TLS session: decided before a body is read.
    admit: admitAdmins({ participants: kit.config.participants, audit, logger: cellLogger }),
    readMaxBytes: ADMIN_MAX_REQUEST_BYTES,
    routes: (router) => {
      registerAdminService(router, {
        config: kit.config,
        rootCaPem: kit.rootCaPem,
        policy: kit.authorization,
        store,
        audit,
        cells,
        logger: cellLogger,
        jobsChanged,
        submitted: (job) => scheduler.submit({ id: job.id, meta: job.meta }),
        abort: async (job, reason) => {
          if (scheduler.remove(job.id)) store.setStatus(job.id, "FINISHED:ABORTED", { reason });
          else await runs.abort(job.id, reason);
        },
        jobDir: (id) => runs.jobDir(id),
        waitingReason: (id) => scheduler.waiting().find((job) => job.id === id)?.reason,
        roundMetrics: (id) => runs.roundMetrics(id),
        jobScalars: (id) => tracking.scalars(id),
      });
    },
  });
  const port = await server.listen(options.port ?? kit.config.port, options.host);
  log.info(`server ${kit.config.name} of project ${kit.config.project} listening on port ${port}`);
  return {
    port,
    async close() {
      scheduler.close();
      await runs.stopAll();
      cells.close();
      await server.close();
      store.close();
      audit.close();
      jobTracking?.close();
      tracking.close();
    },
  };
}
