import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { pinoCellLogger } from "../cell/cell-logger.ts";
import { type CellSite, cellSiteOptionsFromKit, createCellSite } from "../cell/cell-site.ts";
import { JobProcessHost } from "../job/job-process-host.ts";
import type { Payload } from "../job/job-runner.ts";
import { decodePayload, encodePayload } from "../job/payload-codec.ts";
import { BUILTIN_RUNNERS, type RunnerRegistry, runnerUrl } from "../job/runner-registry.ts";
import { type SignedJobBundle, unpackJobBundle } from "../jobs/job-bundle.ts";
import { readStartupKit } from "../provision/read-startup-kit.ts";

export interface SiteParentOptions {
  /** The site's startup kit. */
  kitDir: string;
  /** Where jobs are unpacked and run. Default: the kit folder. */
  workspace?: string;
  /** Dial this port instead of the kit's (tests). */
  port?: number;
  /** Job runners besides the built-in ones (meta.json `app` → module URL). */
  runners?: RunnerRegistry;
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
  const kit = await readStartupKit(options.kitDir);
  if (kit.type !== "client")
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${options.kitDir} is a ${kit.type} kit, not a site's`,
    );
  const workspace = resolve(options.workspace ?? kit.dir);
  mkdirSync(join(workspace, "jobs"), { recursive: true });
  const log = pino(
    { base: { site: kit.config.name } },
    pino.multistream([
      { stream: process.stdout },
      { stream: pino.destination(join(workspace, "site.log")) },
    ]),
  );
  const runners = { ...BUILTIN_RUNNERS, ...options.runners };
  const jobs = new Map<string, JobProcessHost>();
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
    if (jobs.has(deployment.jobId)) return new Uint8Array(); // a resent deploy: already running
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
    const host = new JobProcessHost(
      {
        role: "site",
        jobId: deployment.jobId,
        runnerUrl: runnerUrl(runners, meta.app),
        config: deployment.config,
        dir: appDir,
        workspace: dir,
        sites: [kit.config.name, ...deployment.sites],
      },
      {
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
      },
    );
    jobs.set(deployment.jobId, host);
    void host.exited.then((exit) => {
      jobs.delete(deployment.jobId);
      log.info(
        { job: deployment.jobId },
        `job ${deployment.jobId} process ended${exit.reason ? `: ${exit.reason}` : ""}`,
      );
    });
    return new Uint8Array();
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
    const host = jobs.get(jobId);
    if (host === undefined)
      throw new FedbridgeError(Code.NotFound, `job ${jobId} is not running at ${kit.config.name}`);
    return encodePayload(await host.request(topic, body));
  });

  cell.handle("stop", async ({ payload }) => {
    const { jobId } = decodePayload<{ jobId: string }>(await payload.bytes(), "stop request");
    await jobs.get(jobId)?.stop();
    return new Uint8Array();
  });

  log.info(
    `site ${kit.config.name} dialing ${identity.server.host}:${options.port ?? identity.server.port}`,
  );
  return {
    cell,
    async close() {
      await Promise.all([...jobs.values()].map((host) => host.stop(1000)));
      await cell.close();
    },
  };
}
