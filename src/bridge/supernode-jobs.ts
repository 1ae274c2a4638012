import type { Logger } from "pino";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { readBundle } from "../core/folder-bundle.ts";
import { gatherBytes } from "../core/gather-bytes.ts";
import { createSiteTasks, type SiteTasks } from "../flare-runtime/executor/site-task.ts";
import type { TaskHeader } from "../flare-runtime/protocol/task-frame.ts";
import { joinPieces } from "../flare-runtime/shareable/shareable-codec.ts";
import type { SiteKit } from "../flare-runtime/site/read-site-kit.ts";
import type { DeployedJob, SiteJobs, TaskBody } from "../flare-runtime/site/site-jobs.ts";
import type { UserConfig } from "../flower-api/app/context.ts";
import { nodeOverrides, PYPROJECT_PATH } from "../flower-api/fab/flower-pyproject.ts";
import { type FabIdentity, pyprojectIdentity } from "../flower-api/fab/pyproject-identity.ts";
import { ErrorCode, MessageError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import { computeMessageId } from "../flower-api/objects/deflate.ts";
import type { MessageRouter } from "../flower-api/superlink/message-router.ts";
import type { NodeRegistry } from "../flower-api/superlink/node-registry.ts";
import type { RunRecord, RunRegistry } from "../flower-api/superlink/run-registry.ts";
import { MESSAGE_TASK, messageForSite, replyToShareable } from "./message-task.ts";
import { jobRunId, siteNodeConfig } from "./site-nodes.ts";

/** A job bundle's fab id, version and config keys, from its pyproject.toml (submitApp adds one). */
function bundleIdentity(bytes: Uint8Array, sha256: string): FabIdentity {
  const pyproject = readBundle(bytes, sha256, { label: "job bundle", maxBytes: bytes.length }).get(
    PYPROJECT_PATH,
  );
  if (pyproject === undefined)
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `the job bundle has no ${PYPROJECT_PATH}, so a Flower SuperNode could not load it; submit the app with this fedbridge (admin submit APP_FOLDER)`,
    );
  return pyprojectIdentity(new TextDecoder().decode(pyproject), `job bundle ${PYPROJECT_PATH}`);
}

export interface SuperNodeJobsOptions {
  kit: SiteKit;
  /** The shim's Fleet API: its nodes, runs and message router. */
  fleet: { nodes: NodeRegistry; runs: RunRegistry; router: MessageRouter; port: number };
  /** How long a message waits for a SuperNode to connect before NODE_UNAVAILABLE, in ms. */
  nodeGraceMs: number;
  log: Logger;
}

/**
 * The jobs of a site served by SuperNodes (the bridge's shim): each bridged job is a run of
 * the shim's Fleet API, and each of its tasks is a message queued for the SuperNode connected
 * there, whose reply goes back as the site's. The site's privacy filters act on both, as in a
 * site's job process.
 */
export class SuperNodeJobs implements SiteJobs {
  readonly #options: SuperNodeJobsOptions;
  /** Each job's run and its filtered tasks, dropped when the job stops. */
  readonly #runs = new Map<string, { run: RunRecord; tasks: SiteTasks }>();

  constructor(options: SuperNodeJobsOptions) {
    this.#options = options;
  }

  async start({ deployment, checked }: DeployedJob): Promise<void> {
    const { kit, log, fleet } = this.#options;
    if (checked.meta.app !== "flower")
      throw new FedbridgeError(
        Code.Unimplemented,
        `the bridge runs Flower-style apps only, not '${checked.meta.app}' jobs`,
      );
    const { jobId, config } = deployment;
    const runId = jobRunId(jobId);
    // The identity Flower's SuperNodes check comes from the bundle's own pyproject.toml.
    const identity = bundleIdentity(deployment.bytes, deployment.sha256);
    const fab = { hash: deployment.sha256, id: identity.fabId, version: identity.fabVersion };
    const runConfig = config as UserConfig;
    this.#runs.set(jobId, {
      run: fleet.runs.create(
        fab,
        deployment.bytes,
        runConfig,
        nodeOverrides(identity, runConfig),
        runId,
      ),
      tasks: createSiteTasks({
        site: kit.config.name,
        jobId,
        privacy: kit.privacy,
        config,
        log: (line) => log.info({ job: jobId }, line),
      }),
    });
    log.info({ job: jobId }, `job ${jobId}: serving it to SuperNodes as run ${runId}`);
    // Flower's protocol carries no node config: a SuperNode's ClientApp sees its own.
    const own = siteNodeConfig(kit.config.name, deployment.sites, kit.nodeConfig);
    log.info(
      { job: jobId },
      `job ${jobId}: SuperNodes use their own --node-config; this site's would be "${Object.entries(
        own,
      )
        .map(([key, value]) => `${key}=${value}`)
        .join(" ")}"`,
    );
  }

  has(jobId: string): boolean {
    return this.#runs.has(jobId);
  }

  running(): string[] {
    return [...this.#runs.keys()];
  }

  async task(
    jobId: string,
    topic: string,
    task: TaskBody,
    signal: AbortSignal,
    ofSite?: Pick<TaskHeader, "meta">,
  ) {
    const body = await gatherBytes(task.chunks, task.size);
    const job = this.#runs.get(jobId);
    if (job === undefined || topic !== MESSAGE_TASK)
      throw new FedbridgeError(Code.NotFound, `no bridged job ${jobId} here`);
    const site = this.#options.kit.config.name;
    const result = await job.tasks.run(topic, body, ofSite?.meta, async (filtered) => {
      const instruction = messageForSite(filtered, site);
      const reply = await this.#forward(instruction, job.run.runId, signal);
      // The reply answers the server's instruction, from this site's node.
      const answer = reply.hasError() ? reply.error : reply.content;
      return replyToShareable(new Message(answer, { replyTo: instruction }));
    });
    return joinPieces(result);
  }

  async request(): Promise<never> {
    throw new FedbridgeError(Code.Unimplemented, "a bridged job makes no requests of its sites");
  }

  async stop(jobId: string): Promise<void> {
    const job = this.#runs.get(jobId);
    if (job === undefined) return;
    this.#runs.delete(jobId);
    this.#options.fleet.runs.finish(job.run, "completed");
    this.#options.fleet.router.dropRun(job.run.runId);
  }

  async close(): Promise<void> {
    await Promise.all(this.running().map((jobId) => this.stop(jobId)));
  }

  /**
   * Queues `instruction` for this site's SuperNode and waits for its reply; with no SuperNode
   * connected within the grace, the reply is NODE_UNAVAILABLE, so the server's round goes on.
   */
  async #forward(instruction: Message, runId: bigint, signal: AbortSignal): Promise<Message> {
    const { fleet, log, kit } = this.#options;
    const nodeId = await connectedNode(fleet.nodes, this.#options.nodeGraceMs, signal, () =>
      log.warn(`no SuperNode connected: waiting for one to serve a message of run ${runId}`),
    );
    if (nodeId === undefined) {
      const reason = `no SuperNode is connected to ${kit.config.name}'s bridge (fedbridge bridge, port ${fleet.port})`;
      log.warn(`${reason}: the message is answered NODE_UNAVAILABLE`);
      return new Message(new MessageError(ErrorCode.NODE_UNAVAILABLE, reason), {
        replyTo: instruction,
      });
    }
    // Re-addressed to the SuperNode that serves this site (a new message, so a new id).
    const forwarded = new Message(instruction.content, {
      metadata: { ...instruction.metadata, messageId: "", dstNodeId: nodeId, runId },
    });
    forwarded.metadata.messageId = computeMessageId(forwarded);
    fleet.router.pushInstruction(forwarded);
    const deadline = Date.now() + Math.max(1000, instruction.remainingTtl() * 1000);
    for (;;) {
      const version = fleet.router.repliesVersion;
      const [reply] = fleet.router.takeReplies([forwarded.metadata.messageId]);
      if (reply !== undefined) return reply;
      if (Date.now() > deadline || signal.aborted)
        throw new FedbridgeError(Code.DeadlineExceeded, "the SuperNode did not reply in time");
      await fleet.router.waitForReplies(deadline - Date.now(), signal, version);
    }
  }
}

/**
 * The SuperNode serving this site: the first one online, waiting up to `graceMs` for one
 * (`onWait` says so once); undefined when none connects in time.
 */
async function connectedNode(
  nodes: NodeRegistry,
  graceMs: number,
  signal: AbortSignal,
  onWait: () => void,
): Promise<bigint | undefined> {
  const deadline = Date.now() + graceMs;
  let waited = false;
  for (;;) {
    const [nodeId] = nodes.onlineNodeIds();
    if (nodeId !== undefined) return nodeId;
    if (Date.now() >= deadline || signal.aborted) return undefined;
    if (!waited) onWait();
    waited = true;
    await new Promise<void>((ok) => {
      const stop = nodes.onChange(() => {
        stop();
        clearTimeout(timer);
        ok();
      });
      const timer = setTimeout(
        () => {
          stop();
          ok();
        },
        Math.min(1000, deadline - Date.now()),
      );
    });
  }
}
