import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { createSiteTasks } from "../flare-runtime/executor/site-task.ts";
import type { SiteJobContext, SitePart } from "../flare-runtime/job-process/job-runner.ts";
import { type Context, createContext, type UserConfig } from "../flower-api/app/context.ts";
import { readAppManifest } from "../flower-api/app/load-app.ts";
import type {
  ClientAppRunner,
  ClientAppThread,
} from "../flower-api/clientapp-worker/client-app-runner.ts";
import { ClientAppWorker } from "../flower-api/clientapp-worker/clientapp-worker.ts";
import { InlineClientApp } from "../flower-api/clientapp-worker/inline-client-app.ts";
import {
  RUN_TRACKING_SETUP_URL,
  type RunTrackingSetup,
} from "../tracking/flower-runs/run-tracking.ts";
import { MESSAGE_TASK, messageForSite, replyToShareable } from "./message-task.ts";
import { jobRunId, siteNodeConfig, siteNodeId } from "./site-nodes.ts";

/** A site's ClientApp and the Context it keeps across the job's messages. */
interface SiteApp {
  worker: ClientAppRunner;
  context: Context;
}

export interface FlowerSiteOptions {
  /**
   * Where the ClientApp runs (see ClientAppThread). `worker` (the default, and what a job
   * process does): a thread of its own, stopped past a message's TTL, its SummaryWriter
   * streaming to the server. `caller`: this thread, for many sites' parts in one process (a
   * load bench); a handler past its TTL is answered with an error but not stopped, and the
   * app's SummaryWriter events are not forwarded (its module is shared by every part).
   */
  clientAppThread?: ClientAppThread;
}

/**
 * The flower runner's part at a site, for one job: each message the server sends passes the
 * site's privacy filters (then the job's) both ways and is handled by the job's ClientApp.
 * The app, its Context and the filter chains belong to this part alone, so nothing of one job
 * is seen by another.
 */
export function flowerSitePart(job: SiteJobContext, options: FlowerSiteOptions = {}): SitePart {
  const tasks = createSiteTasks(job);
  let app: Promise<SiteApp> | undefined;
  return {
    async task(topic, bytes, siteMeta) {
      if (topic !== MESSAGE_TASK)
        throw new FedbridgeError(Code.Unimplemented, `the flower runner has no task ${topic}`);
      app ??= loadSiteApp(job, options.clientAppThread ?? "worker");
      const { worker, context } = await app;
      // A message sent again after a server restart never gets here: its task's key is
      // answered at the site parent with the result it had (site/kept-results.ts).
      return tasks.run(topic, bytes, siteMeta, async (task) => {
        const reply = await worker.handle(messageForSite(task, job.site), context);
        // The site's own record of what its ClientApp answered when it failed.
        if (reply.hasError()) job.log(`the ClientApp's reply is an error: ${reply.error}`);
        return replyToShareable(reply);
      });
    },
  };
}

/**
 * The site's ClientApp (by default in a thread where a handler past its message's TTL can be
 * stopped) and its Context (node state persists across the job's messages). An app that
 * cannot load answers every message with LOAD_CLIENT_APP_EXCEPTION and the reason, as a
 * SuperNode does.
 */
async function loadSiteApp(job: SiteJobContext, thread: ClientAppThread): Promise<SiteApp> {
  const manifest = await readAppManifest(job.dir);
  const worker =
    thread === "caller"
      ? new InlineClientApp(manifest.clientappUrl)
      : new ClientAppWorker({
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
