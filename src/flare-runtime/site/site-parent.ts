import { createReadStream, mkdirSync } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createLogger, type LogFormat } from "../../core/logger.ts";
import { pinoCellLogger } from "../cell/cell-logger.ts";
import { type CellSite, cellSiteOptionsFromKit, createCellSite } from "../cell/cell-site.ts";
import { jobFilterChains } from "../filters/filter-chain.ts";
import { type JobProcessEvents, JobProcessHost } from "../job/job-process-host.ts";
import type { JobStart } from "../job/job-protocol.ts";
import type { Payload } from "../job/job-runner.ts";
import { decodePayload, encodePayload } from "../job/payload-codec.ts";
import { BUILTIN_RUNNERS, type RunnerRegistry, runnerUrl } from "../job/runner-registry.ts";
import { readTaskFrame, type TaskHeader } from "../job/task-frame.ts";
import { type SignedJobBundle, unpackJobBundle } from "../jobs/job-bundle.ts";
import { readSiteKit } from "./read-site-kit.ts";

export interface SiteParentOptions {
  /** The site's startup kit. */
  kitDir: string;
  /** Where jobs are unpacked and run. Default: the kit folder. */
  workspace?: string;
  /** Dial this port instead of the kit's (tests). */
  port?: number;
  /** Job runners besides the built-in ones (meta.json `app` → module URL). */
  runners?: RunnerRegistry;
  /** How stdout shows the log (site.log is always JSON lines). Default: see createLogger. */
  logFormat?: LogFormat;
}

export interface SiteParent {
  cell: CellSite;
  close(): Promise<void>;
}

interface Deployment extends SignedJobBundle {
  jobId: string;
  config: Record<string, unknown>;
  sites: string[];
}

/**
 * A site parent: dials the server (never listens), reports its resources, and for each job
 * deployed to it checks the bundle (the submitting admin's signature, then its hash and
 * files) before starting the job's process, which then answers the server's requests.
 */
export async function startSiteParent(options: SiteParentOptions): Promise<SiteParent> {
  const kit = await readSiteKit(options.kitDir);
  const workspace = resolve(options.workspace ?? kit.dir);
  mkdirSync(join(workspace, "jobs"), { recursive: true });
  const log = createLogger({
    name: kit.config.name,
    base: { site: kit.config.name },
    file: join(workspace, "site.log"),
    ...(options.logFormat ? { format: options.logFormat } : {}),
  });
  const runners = { ...BUILTIN_RUNNERS, ...options.runners };
  const jobs = new Map<string, JobProcessHost>();
  /** Each running job's deployment, to start its process again if it dies mid-job. */
  const deployments = new Map<string, { init: JobStart; events: JobProcessEvents }>();
  const identity = cellSiteOptionsFromKit(kit);
  const cell = createCellSite({
    ...identity,
    server: { ...identity.server, ...(options.port === undefined ? {} : { port: options.port }) },
    logger: pinoCellLogger(log),
  });

  const reportResources = () =>
    cell
      .request("site-info", encodePayload({ resources: kit.resources }))
      .catch((error) =>
        log.warn(`could not report resources: ${FedbridgeError.from(error).message}`),
      );
  cell.subscribe((event) => {
    if (event.type === "connected") void reportResources();
  });
  if (cell.connected) void reportResources();

  cell.handle("deploy", async ({ payload }) => {
    const deployment = decodePayload<Deployment>(await payload.bytes(), "deployment");
    // A resent deploy, or the server restarted: the job is already here.
    if (deployments.has(deployment.jobId)) return new Uint8Array();
    const dir = join(workspace, "jobs", deployment.jobId);
    // Nothing of the job runs before its signature, hash and files are checked.
    const {
      dir: appDir,
      meta,
      signer,
    } = await unpackJobBundle(deployment, kit.rootCaPem, join(dir, "app"));
    log.info(
      { job: deployment.jobId },
      `job ${deployment.jobId} (${meta.name}) signed by ${signer.name}: starting`,
    );
    // The job's privacy scope must exist here, and its filters be known, before it runs.
    jobFilterChains(kit.config.name, kit.privacy, deployment.config);
    const init: JobStart = {
      type: "start",
      role: "site",
      jobId: deployment.jobId,
      runnerUrl: runnerUrl(runners, meta.app),
      config: deployment.config,
      dir: appDir,
      workspace: dir,
      sites: [kit.config.name, ...deployment.sites],
      privacy: kit.privacy,
      nodeConfig: kit.nodeConfig,
    };
    const events: JobProcessEvents = {
      log: (line) => log.info({ job: deployment.jobId }, line),
      // Tracking events go to the server, which checks and stores them (fire and forget).
      tracking: (events) =>
        void cell
          .request("tracking", encodePayload({ jobId: deployment.jobId, events }))
          .catch((error) =>
            log.warn(
              `tracking events of job ${deployment.jobId} lost: ${FedbridgeError.from(error).message}`,
            ),
          ),
    };
    deployments.set(deployment.jobId, { init, events });
    launch(deployment.jobId);
    return new Uint8Array();
  });

  /** Starts (or starts again) the process of a deployed job. */
  const launch = (jobId: string): JobProcessHost | undefined => {
    const deployment = deployments.get(jobId);
    if (deployment === undefined) return undefined;
    const { type: _, ...init } = deployment.init;
    const host = new JobProcessHost(init, deployment.events);
    jobs.set(jobId, host);
    log.info({ job: jobId }, `job ${jobId} process ${host.pid} started`);
    void host.exited.then((exit) => {
      if (jobs.get(jobId) === host) jobs.delete(jobId);
      log.info(
        { job: jobId },
        `job ${jobId} process ended${exit.reason ? `: ${exit.reason}` : ""}`,
      );
    });
    return host;
  };
  /** The job's process; one that died mid-job is started again for its next task. */
  const jobProcess = (jobId: string): JobProcessHost => {
    const host = jobs.get(jobId) ?? launch(jobId);
    if (host === undefined)
      throw new FedbridgeError(Code.NotFound, `job ${jobId} is not running at ${kit.config.name}`);
    return host;
  };

  // A task streams to a file and its result streams back from one: a site holds a few chunks
  // of a large model in this process, never the model (its job process reads the file).
  let nextTask = 1;
  cell.handle("task", async ({ payload }) => {
    const file = join(workspace, "transfer", `${process.pid}-${nextTask++}.task`);
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, "w");
    let header: TaskHeader;
    try {
      header = await readTaskFrame(payload.chunks(), async (bytes) => {
        await handle.write(bytes);
      });
    } finally {
      await handle.close();
    }
    const host = jobProcess(header.jobId);
    const result = await host.task(header.topic, file).catch(async (error) => {
      await rm(file, { force: true });
      throw error;
    });
    return streamFile(result);
  });

  cell.handle("job", async ({ payload }) => {
    const {
      jobId,
      topic,
      payload: body,
    } = decodePayload<{ jobId: string; topic: string; payload: Payload }>(
      await payload.bytes(),
      "job request",
    );
    return encodePayload(await jobProcess(jobId).request(topic, body));
  });

  cell.handle("stop", async ({ payload }) => {
    const { jobId } = decodePayload<{ jobId: string }>(await payload.bytes(), "stop request");
    deployments.delete(jobId);
    await jobs.get(jobId)?.stop();
    return new Uint8Array();
  });

  log.info(
    `site ${kit.config.name} dialing ${identity.server.host}:${options.port ?? identity.server.port}`,
  );
  return {
    cell,
    async close() {
      deployments.clear();
      await Promise.all([...jobs.values()].map((host) => host.stop(1000)));
      await cell.close();
    },
  };
}

/** A file's bytes in 1 MiB pieces, then the file is removed. */
async function* streamFile(file: string): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 2 ** 20 }))
      yield chunk as Buffer;
  } finally {
    await rm(file, { force: true });
  }
}
