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
import { Message } from "../flower-api/message/message.ts";
import {
  RUN_TRACKING_SETUP_URL,
  type RunTrackingSetup,
} from "../tracking/flower-runs/run-tracking.ts";
import {
  MESSAGE_TASK,
  messageForSite,
  messageKeyForSite,
  replyToShareable,
} from "./message-task.ts";
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
  const answered = new AnsweredMessages();
  return {
    async task(topic, bytes) {
      if (topic !== MESSAGE_TASK)
        throw new FedbridgeError(Code.Unimplemented, `the flower runner has no task ${topic}`);
      app ??= loadSiteApp(job, options.clientAppThread ?? "worker");
      const { worker, context } = await app;
      return tasks.run(topic, bytes, async (task) => {
        const key = messageKeyForSite(task, job.site);
        // A message sent again (its server restarted) gets the reply it had, not a new one.
        const again = () =>
          job.log(
            `message ${key?.slice(0, 12)} came again (the server restarted): it gets the reply it had`,
          );
        const instruction = messageForSite(task, job.site);
        const reply = await answered.once(key, again, async () => {
          const reply = await worker.handle(instruction, context);
          // The site's own record of what its ClientApp answered when it failed.
          if (reply.hasError()) job.log(`the ClientApp's reply is an error: ${reply.error}`);
          return reply;
        });
        // A reply given again answers this instruction (its id changed with its creation time).
        const body = reply.hasError() ? reply.error : reply.content;
        const answer =
          reply.metadata.replyToMessageId === instruction.metadata.messageId
            ? reply
            : new Message(body, { replyTo: instruction });
        // Made anew each time: the filters change the shareable they are given, never the reply.
        return replyToShareable(answer);
      });
    },
  };
}

/** How many recent replies a site keeps for messages that may come again. */
const KEPT_REPLIES = 4;

/**
 * The replies of a site's most recent messages, by message key: a server that restarts
 * mid-round sends again what its sites were working on, and each gets the reply it had (the
 * same reply, its node state already moved on) — a message is never handled twice. One sent
 * again while its first is still being handled waits for that one.
 */
class AnsweredMessages {
  readonly #replies = new Map<string, Promise<Message>>();

  once(
    key: string | undefined,
    onAgain: () => void,
    handle: () => Promise<Message>,
  ): Promise<Message> {
    if (key === undefined) return handle();
    const earlier = this.#replies.get(key);
    if (earlier !== undefined) {
      onAgain();
      return earlier;
    }
    const reply = handle();
    this.#replies.set(key, reply);
    reply.catch(() => this.#replies.delete(key));
    for (const old of this.#replies.keys()) {
      if (this.#replies.size <= KEPT_REPLIES) break;
      this.#replies.delete(old);
    }
    return reply;
  }
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
