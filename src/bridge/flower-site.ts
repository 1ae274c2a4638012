import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { createSiteTasks } from "../flare-runtime/controller/site-task.ts";
import type { SiteJobContext, SitePart } from "../flare-runtime/job/job-runner.ts";
import { type Context, createContext, type UserConfig } from "../flower-api/app/context.ts";
import { readAppManifest } from "../flower-api/app/load-app.ts";
import { ClientAppWorker } from "../flower-api/clientapp-worker/clientapp-worker.ts";
import { MESSAGE_TASK, messageForSite, replyToShareable } from "./message-task.ts";
import { RUN_TRACKING_SETUP_URL, type RunTrackingSetup } from "./run-tracking.ts";
import { jobRunId, siteNodeConfig, siteNodeId } from "./site-nodes.ts";

/** A site's ClientApp and the Context it keeps across the job's messages. */
interface SiteApp {
  worker: ClientAppWorker;
  context: Context;
}

/**
 * The flower runner's part at a site, for one job: each message the server sends passes the
 * site's privacy filters (then the job's) both ways and is handled by the job's ClientApp.
 * The app, its Context and the filter chains belong to this part alone, so nothing of one job
 * is seen by another.
 */
export function flowerSitePart(job: SiteJobContext): SitePart {
  const tasks = createSiteTasks(job);
  let app: Promise<SiteApp> | undefined;
  return {
    async task(topic, bytes) {
      if (topic !== MESSAGE_TASK)
        throw new FedbridgeError(Code.Unimplemented, `the flower runner has no task ${topic}`);
      app ??= loadSiteApp(job);
      const { worker, context } = await app;
      return tasks.run(topic, bytes, async (task) => {
        const reply = await worker.handle(messageForSite(task, job.site), context);
        // The site's own record of what its ClientApp answered when it failed.
        if (reply.hasError()) job.log(`the ClientApp's reply is an error: ${reply.error}`);
        return replyToShareable(reply);
      });
    },
  };
}

/**
 * The site's ClientApp, in a thread where a handler past its message's TTL can be stopped, and
 * its Context (node state persists across the job's messages). An app that cannot load answers
 * every message with LOAD_CLIENT_APP_EXCEPTION and the reason, as a SuperNode does.
 */
async function loadSiteApp(job: SiteJobContext): Promise<SiteApp> {
  const manifest = await readAppManifest(job.dir);
  const worker = new ClientAppWorker({
    clientappUrl: manifest.clientappUrl,
    // An app's SummaryWriter at this site streams to the server, stamped with site and job.
    setup: {
      url: RUN_TRACKING_SETUP_URL,
      data: { forward: { site: job.site, job: job.jobId } } satisfies RunTrackingSetup,
    },
    onTracking: (events) => job.track(events),
  });
  await worker.start().catch((error) => {
    job.log(`the ClientApp cannot load: ${FedbridgeError.from(error).message}`);
  });
  const context = createContext({
    runId: jobRunId(job.jobId),
    nodeId: siteNodeId(job.site),
    nodeConfig: siteNodeConfig(job.site, job.jobSites, job.nodeConfig),
    runConfig: job.config as UserConfig,
  });
  return { worker, context };
}
