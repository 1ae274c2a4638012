import { Server, ServerCredentials } from "@grpc/grpc-js";
import pino from "pino";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { boundedServerOptions } from "../core/grpc-server-options.ts";
import { rawServiceDefinition } from "../core/grpc-service.ts";
import { pinoCellLogger } from "../flare-runtime/cell/cell-logger.ts";
import { cellSiteOptionsFromKit, createCellSite } from "../flare-runtime/cell/cell-site.ts";
import { runSiteTask } from "../flare-runtime/controller/site-task.ts";
import { jobFilterChains } from "../flare-runtime/filters/filter-chain.ts";
import { decodePayload, encodePayload } from "../flare-runtime/job/payload-codec.ts";
import { decodeTaskFrame } from "../flare-runtime/job/task-frame.ts";
import { inspectJobBundle, type SignedJobBundle } from "../flare-runtime/jobs/job-bundle.ts";
import { readSiteKit } from "../flare-runtime/site/read-site-kit.ts";
import { joinPieces } from "../flare-runtime/task/shareable-codec.ts";
import type { UserConfig } from "../flower-api/app/context.ts";
import { createFleetServicer } from "../flower-api/deployment/fleet-servicer.ts";
import { MessageRouter } from "../flower-api/deployment/message-router.ts";
import { NodeRegistry } from "../flower-api/deployment/node-registry.ts";
import { FLEET_MAX_REQUEST_BYTES } from "../flower-api/deployment/request-limits.ts";
import { type RunRecord, RunRegistry } from "../flower-api/deployment/run-registry.ts";
import { ErrorCode, Error as FlowerError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import { computeMessageId } from "../flower-api/objects/deflate.ts";
import { ObjectStore } from "../flower-api/objects/object-store.ts";
import { Fleet } from "../gen/flwr/proto/fleet_pb.ts";
import { MESSAGE_TASK, messageForSite, replyToShareable } from "./message-task.ts";
import { jobRunId, siteNodeConfig } from "./site-nodes.ts";

export interface FleetShimOptions {
  /** The site's startup kit: the shim is this site to the server. */
  kitDir: string;
  /** Where SuperNodes connect (Flower's Fleet API). Default: 127.0.0.1:9092. */
  fleetApiAddress?: string;
  /** Dial this server port instead of the kit's (tests). */
  serverPort?: number;
  /**
   * How long a message waits for a SuperNode to connect before it is answered
   * NODE_UNAVAILABLE, in ms. Default: 10,000.
   */
  nodeGraceMs?: number;
}

export interface FleetShim {
  fleetPort: number;
  close(): Promise<void>;
}

interface Deployment extends SignedJobBundle {
  jobId: string;
  config: UserConfig;
  /** Every site of the job. */
  sites: string[];
}

/**
 * `fedbridge bridge`: a site whose ClientApps run in SuperNodes (ours, or Flower's own) that
 * connect to a local Fleet API. To the server it is the site (it dials out with the site's
 * kit, checks each job's signature and bundle); to the SuperNodes it is a SuperLink: each
 * message of a bridged job is queued for the connected node, and its reply goes back to the
 * server as the site's. The site needs no inbound port from outside.
 */
export async function startFleetShim(options: FleetShimOptions): Promise<FleetShim> {
  const kit = await readSiteKit(options.kitDir);
  const log = pino({ base: { site: kit.config.name, role: "bridge" } });
  const nodes = new NodeRegistry();
  const runs = new RunRegistry();
  const objects = new ObjectStore();
  const router = new MessageRouter(objects, nodes);
  const jobRuns = new Map<string, { run: RunRecord; config: Record<string, unknown> }>();
  const site = kit.config.name;

  const fleet = new Server(boundedServerOptions(FLEET_MAX_REQUEST_BYTES));
  fleet.addService(
    rawServiceDefinition(Fleet),
    createFleetServicer({ nodes, runs, router, objects }),
  );
  const fleetPort = await new Promise<number>((ok, fail) =>
    fleet.bindAsync(
      options.fleetApiAddress ?? "127.0.0.1:9092",
      ServerCredentials.createInsecure(),
      (error, port) =>
        error
          ? fail(
              new FedbridgeError(
                Code.Unavailable,
                `cannot listen for the Fleet API: ${error.message}`,
              ),
            )
          : ok(port),
    ),
  );

  // Say when the site has no SuperNode to serve its tasks, and when it has one again.
  let serving = false;
  const reportNodes = () => {
    const online = nodes.onlineNodeIds().length > 0;
    if (online !== serving)
      log[online ? "info" : "warn"](
        online ? "a SuperNode is connected" : "no SuperNode connected to this site's bridge",
      );
    serving = online;
  };
  nodes.onChange(reportNodes);
  log.warn("no SuperNode connected to this site's bridge yet");

  const identity = cellSiteOptionsFromKit(kit);
  const cell = createCellSite({
    ...identity,
    server: {
      ...identity.server,
      ...(options.serverPort === undefined ? {} : { port: options.serverPort }),
    },
    logger: pinoCellLogger(log),
  });
  cell.subscribe((event) => {
    if (event.type === "connected") {
      void cell.request("site-info", encodePayload({ resources: kit.resources })).catch(() => {});
    }
  });

  cell.handle("deploy", async ({ payload }) => {
    const deployment = decodePayload<Deployment>(await payload.bytes(), "deployment");
    if (jobRuns.has(deployment.jobId)) return new Uint8Array();
    const { meta, signer } = inspectJobBundle(deployment, kit.rootCaPem);
    if (meta.app !== "flower")
      throw new FedbridgeError(
        Code.Unimplemented,
        `the bridge runs Flower-style apps only, not '${meta.app}' jobs`,
      );
    const runId = jobRunId(deployment.jobId);
    const fab = { hash: deployment.sha256, id: `fedbridge/${meta.name}`, version: "0.0.0" };
    // The job's privacy scope must exist here, and its filters be known, before it runs.
    jobFilterChains(site, kit.privacy, deployment.config);
    jobRuns.set(deployment.jobId, {
      run: runs.create(fab, deployment.bytes, deployment.config, deployment.config, runId),
      config: deployment.config,
    });
    log.info(
      `job ${deployment.jobId} (${meta.name}) signed by ${signer.name}: serving it to SuperNodes as run ${runId}`,
    );
    // Flower's protocol carries no node config: a SuperNode's ClientApp sees its own.
    const config = siteNodeConfig(site, deployment.sites, kit.nodeConfig);
    log.info(
      `job ${deployment.jobId}: SuperNodes use their own --node-config; this site's would be "${Object.entries(
        config,
      )
        .map(([key, value]) => `${key}=${value}`)
        .join(" ")}"`,
    );
    return new Uint8Array();
  });

  // Each bridged message arrives as a task; the site's privacy filters run on it both ways,
  // here, as they would in a site's job process.
  cell.handle("task", async ({ payload, signal }) => {
    const { jobId, topic, body } = decodeTaskFrame(await payload.bytes());
    const deployment = jobRuns.get(jobId);
    if (deployment === undefined || topic !== MESSAGE_TASK)
      throw new FedbridgeError(Code.NotFound, `no bridged job ${jobId} here`);
    const job = {
      site,
      jobId,
      privacy: kit.privacy,
      config: deployment.config,
      log: (line: string) => log.info({ job: jobId }, line),
    };
    const result = await runSiteTask(topic, body, job, async (task) => {
      const instruction = messageForSite(task, site);
      const reply = await forward(instruction, deployment.run.runId, signal);
      // The reply answers the server's instruction, from this site's node.
      const answer = reply.hasError() ? reply.error : reply.content;
      return replyToShareable(new Message(answer, { replyTo: instruction }));
    });
    return joinPieces(result);
  });

  /**
   * Queues `instruction` for this site's SuperNode and waits for its reply; with no SuperNode
   * connected within the grace, the reply is NODE_UNAVAILABLE, so the server's round goes on.
   */
  const forward = async (
    instruction: Message,
    runId: bigint,
    signal: AbortSignal,
  ): Promise<Message> => {
    const nodeId = await connectedNode(nodes, options.nodeGraceMs ?? 10_000, signal, () =>
      log.warn(`no SuperNode connected: waiting for one to serve a message of run ${runId}`),
    );
    if (nodeId === undefined) {
      const reason = `no SuperNode is connected to ${site}'s bridge (fedbridge bridge, port ${fleetPort})`;
      log.warn(`${reason}: the message is answered NODE_UNAVAILABLE`);
      return new Message(new FlowerError(ErrorCode.NODE_UNAVAILABLE, reason), {
        replyTo: instruction,
      });
    }
    // Re-addressed to the SuperNode that serves this site (a new message, so a new id).
    const forwarded = new Message(instruction.content, {
      metadata: { ...instruction.metadata, messageId: "", dstNodeId: nodeId, runId },
    });
    forwarded.metadata.messageId = computeMessageId(forwarded);
    router.pushInstruction(forwarded);
    const deadline = Date.now() + Math.max(1000, instruction.remainingTtl() * 1000);
    for (;;) {
      const version = router.repliesVersion;
      const [reply] = router.takeReplies([forwarded.metadata.messageId]);
      if (reply !== undefined) return reply;
      if (Date.now() > deadline || signal.aborted)
        throw new FedbridgeError(Code.DeadlineExceeded, "the SuperNode did not reply in time");
      await router.waitForReplies(deadline - Date.now(), signal, version);
    }
  };

  cell.handle("stop", async ({ payload }) => {
    const { jobId } = decodePayload<{ jobId: string }>(await payload.bytes(), "stop request");
    const deployment = jobRuns.get(jobId);
    if (deployment) {
      runs.finish(deployment.run, "completed");
      router.dropRun(deployment.run.runId);
      jobRuns.delete(jobId);
    }
    return new Uint8Array();
  });

  log.info(
    `bridge for site ${kit.config.name}: Fleet API on port ${fleetPort}, dialing ${identity.server.host}`,
  );
  return {
    fleetPort,
    async close() {
      nodes.close();
      fleet.forceShutdown();
      await cell.close();
    },
  };
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
