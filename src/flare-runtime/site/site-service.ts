import type { Logger } from "pino";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { pinoCellLogger } from "../cell/cell-logger.ts";
import { type CellSite, cellSiteOptionsFromKit, createCellSite } from "../cell/cell-site.ts";
import { jobFilterChains } from "../filters/filter-chain.ts";
import { inspectJobBundle } from "../jobs/job-bundle.ts";
import { checkJobId } from "../jobs/job-id.ts";
import { encodePayload } from "../protocol/payload-codec.ts";
import { decodeSiteMessage, encodeSiteMessage } from "../protocol/site-protocol.ts";
import { splitTaskFrame } from "../protocol/task-frame.ts";
import type { SiteKit } from "./read-site-kit.ts";
import type { SiteJobs } from "./site-jobs.ts";

export interface SiteServiceOptions {
  kit: SiteKit;
  jobs: SiteJobs;
  log: Logger;
  /** Dial this port instead of the kit's (tests). */
  port?: number;
}

/** Jobs that ended here and are remembered, so a late deploy of one does not start it again. */
const ENDED_KEPT = 1_000;

/**
 * A site as the server sees it, whatever runs its jobs: dials the server with the site's kit,
 * reports its resources, and answers the site protocol (protocol/site-protocol.ts). A job is
 * started only once its bundle's signature, hash and files are checked and its privacy scope
 * and filters exist here; whenever the site (re)connects, the server says which jobs it runs
 * with the site and the site stops any other, so no job outlives its job at the server.
 */
export function serveSite(options: SiteServiceOptions): CellSite {
  const { kit, jobs, log } = options;
  const site = kit.config.name;
  const ended = new Set<string>();
  const end = (jobId: string) => {
    ended.add(jobId);
    if (ended.size > ENDED_KEPT) ended.delete(ended.values().next().value as string);
    return jobs.stop(jobId);
  };
  const identity = cellSiteOptionsFromKit(kit);
  const cell = createCellSite({
    ...identity,
    server: { ...identity.server, ...(options.port === undefined ? {} : { port: options.port }) },
    logger: pinoCellLogger(log),
  });

  const reportResources = () =>
    cell
      .request("site-info", encodeSiteMessage("site-info", { resources: kit.resources }))
      .catch((error) =>
        log.warn(`could not report resources: ${FedbridgeError.from(error).message}`),
      );
  cell.subscribe((event) => {
    if (event.type === "connected") void reportResources();
  });
  if (cell.connected) void reportResources();

  cell.handle("deploy", async ({ payload }) => {
    const deployment = decodeSiteMessage("deploy", await payload.bytes());
    const { jobId } = deployment;
    // A resent deploy, or the server restarted: the job is already here.
    if (jobs.has(jobId)) return new Uint8Array();
    if (ended.has(jobId))
      throw new FedbridgeError(Code.FailedPrecondition, `job ${jobId} has ended at ${site}`);
    // Nothing of the job runs before its signature, hash and files are checked, and its
    // privacy scope and filters are known here.
    const checked = inspectJobBundle(deployment, kit.rootCaPem);
    jobFilterChains(site, kit.privacy, deployment.config);
    log.info(
      { job: jobId },
      `job ${jobId} (${checked.meta.name}) signed by ${checked.signer.name}: starting`,
    );
    await jobs.start({ deployment, checked });
    return new Uint8Array();
  });

  cell.handle("stop", async ({ payload }) => {
    const { jobId } = decodeSiteMessage("stop", await payload.bytes());
    await end(jobId);
    return new Uint8Array();
  });

  cell.handle("reconcile", async ({ payload }) => {
    const { jobIds } = decodeSiteMessage("reconcile", await payload.bytes());
    const current = new Set(jobIds);
    for (const jobId of jobs.running().filter((id) => !current.has(id))) {
      log.info({ job: jobId }, `job ${jobId} no longer runs at the server: stopping it here`);
      await end(jobId);
    }
    return new Uint8Array();
  });

  // A task streams on to the job and its result streams back: a site holds a few chunks of a
  // large model in this process, never the model.
  cell.handle("task", async ({ payload, signal }) => {
    const { header, headerBytes, body } = await splitTaskFrame(payload.chunks());
    try {
      const jobId = checkJobId(header.jobId);
      if (!jobs.has(jobId))
        throw new FedbridgeError(Code.NotFound, `job ${jobId} is not running at ${site}`);
      const size = payload.size === undefined ? undefined : payload.size - headerBytes;
      return await jobs.task(jobId, header.topic, { size, chunks: body }, signal, header);
    } finally {
      void body.return?.().catch(() => {});
    }
  });

  cell.handle("job", async ({ payload }) => {
    const { jobId, topic, payload: body } = decodeSiteMessage("job", await payload.bytes());
    if (!jobs.has(jobId))
      throw new FedbridgeError(Code.NotFound, `job ${jobId} is not running at ${site}`);
    return encodePayload(await jobs.request(jobId, topic, body));
  });

  log.info(`site ${site} dialing ${identity.server.host}:${options.port ?? identity.server.port}`);
  return cell;
}
