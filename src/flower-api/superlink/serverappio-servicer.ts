import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { implementation, unaryHandler } from "../../core/wire/grpc-service.ts";
import { RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { ContextSchema } from "../../gen/flwr/proto/message_pb.ts";
import { type Run, RunSchema } from "../../gen/flwr/proto/run_pb.ts";
import { ServerAppIo } from "../../gen/flwr/proto/serverappio_pb.ts";
import { configToScalars } from "../app/scalars.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import type { ObjectStore } from "../objects/object-store.ts";
import type { AppTokens } from "./app-tokens.ts";
import type { MessageRouter } from "./message-router.ts";
import type { NodeRegistry } from "./node-registry.ts";
import type { RunRecord, RunRegistry, RunStatus } from "./run-registry.ts";
import { ServerAppLog } from "./server-app-log.ts";

export interface ServerAppIoState {
  runs: RunRegistry;
  router: MessageRouter;
  nodes: NodeRegistry;
  objects: ObjectStore;
  tokens: AppTokens;
}

export interface ServerAppIoOptions {
  /** How long PullMessages holds a call while replies are outstanding, in ms. Default: 10 000. */
  pullWaitMs?: number;
}

/** Flower's words for a run a call may not touch (`flwr/server/superlink/utils.py`). */
const STATUS_TEXT: Record<RunStatus, string> = {
  pending: "Run is pending.",
  starting: "Run is starting.",
  running: "Run is running.",
  finished: "Run is finished.",
};

/**
 * Flower 1.28's ServerAppIo service: what Flower's own ServerApp process (`flwr-serverapp`)
 * and its launcher (`flower-superexec`) call. It is backed by the SuperLink's runs, message
 * router and object store, so a Python ServerApp drives the same nodes, TypeScript and
 * Python alike, as a TypeScript one. As in Flower 1.28, the only credential is the run's
 * token in the bodies of the app's own calls: serve it on a loopback address.
 */
export function createServerAppIoServicer(
  state: ServerAppIoState,
  options: ServerAppIoOptions = {},
) {
  const { runs, router, nodes, objects, tokens } = state;
  const pullWaitMs = options.pullWaitMs ?? 10_000;
  const logs = new ServerAppLog(runs);
  const m = ServerAppIo.method;

  /** The run, refused with PERMISSION_DENIED (Flower's wording) when its status is listed. */
  const runIfNot = (runId: bigint, refused: readonly RunStatus[]): RunRecord => {
    const run = runs.get(runId);
    if (run === undefined)
      throw new FedbridgeError(Code.PermissionDenied, `Run ID not found: ${runId}`);
    if (refused.includes(run.status)) {
      const stopped = run.subStatus === "stopped" ? " Stopped by user." : "";
      throw new FedbridgeError(Code.PermissionDenied, `${STATUS_TEXT[run.status]}${stopped}`);
    }
    return run;
  };
  const running = (runId: bigint) => runIfNot(runId, ["pending", "starting", "finished"]);
  const byToken = (token: string): RunRecord => {
    const run = runs.byToken(token);
    if (run === undefined) throw new FedbridgeError(Code.PermissionDenied, "Invalid token.");
    return run;
  };
  const asServer = (nodeId: bigint | undefined) => {
    if (nodeId !== SERVER_NODE_ID)
      throw new FedbridgeError(Code.FailedPrecondition, "Unexpected node ID.");
  };

  return implementation({
    ListAppsToLaunch: unaryHandler(m.listAppsToLaunch, () => ({
      runIds: runs
        .all()
        .filter((run) => run.status === "pending" && run.appToken === undefined)
        .map((run) => run.runId),
    })),
    RequestToken: unaryHandler(m.requestToken, (req) => {
      const run = runs.get(req.runId);
      if (run === undefined || run.appToken !== undefined || run.status !== "pending")
        return { token: "" };
      return { token: tokens.issue(run) };
    }),
    GetRun: unaryHandler(m.getRun, (req) => {
      const run = runs.get(req.runId);
      return run === undefined ? {} : { run: runToProto(run) };
    }),
    SendAppHeartbeat: unaryHandler(m.sendAppHeartbeat, (req) => ({
      // False tells the app its run is gone: it then interrupts itself, as in Flower.
      success: tokens.heartbeat(req.token),
    })),
    PullAppInputs: unaryHandler(m.pullAppInputs, (req) => {
      const run = byToken(req.token);
      const fab = runs.bundle(run.fabHash);
      if (run.status !== "starting" || fab === undefined)
        throw new FedbridgeError(Code.FailedPrecondition, `Failed to start run ${run.runId}`);
      runs.advance(run, "running");
      return {
        context: create(ContextSchema, { runId: run.runId, nodeId: SERVER_NODE_ID, state: {} }),
        run: runToProto(run),
        fab: { hashStr: run.fabHash, content: fab },
      };
    }),
    PushAppOutputs: unaryHandler(m.pushAppOutputs, (req) => {
      const run = byToken(req.token);
      running(req.runId);
      if (run.runId !== req.runId)
        throw new FedbridgeError(Code.PermissionDenied, "Invalid token.");
      tokens.spend(run); // the app has nothing more to pull or push
      return {};
    }),
    GetNodes: unaryHandler(m.getNodes, (req) => {
      running(req.runId);
      return { nodes: nodes.onlineNodeIds().map((nodeId) => ({ nodeId })) };
    }),
    PushMessages: unaryHandler(m.pushMessages, (req) => {
      running(req.runId);
      if (req.messagesList.length === 0)
        throw new FedbridgeError(
          Code.InvalidArgument,
          "Malformed PushMessages: `messages_list` must not be empty",
        );
      if (req.messagesList.length !== req.messageObjectTrees.length)
        throw new FedbridgeError(
          Code.InvalidArgument,
          "Malformed PushMessages: one object tree per message",
        );
      const toPush = new Set<string>();
      const messageIds = req.messagesList.map((message, i) => {
        for (const id of router.pushAppInstruction(req.runId, message, req.messageObjectTrees[i]))
          toPush.add(id);
        return message.metadata?.messageId ?? "";
      });
      return { messageIds, objectsToPush: [...toPush] };
    }),
    PullMessages: unaryHandler(m.pullMessages, async (req, ctx) => {
      const run = running(req.runId);
      // Held while replies are outstanding (bounded), so the app gets them as they land.
      const signal = AbortSignal.any([ctx.signal, run.abort.signal]);
      await router.waitForAppReplies(req.messageIds, pullWaitMs, signal);
      running(req.runId); // stopped meanwhile: say so, as Flower does at the next poll
      const replies = router.takeAppReplies(req.runId, req.messageIds);
      return {
        messagesList: replies.map((r) => r.message),
        messageObjectTrees: replies.map((r) => r.tree),
      };
    }),
    PushObject: unaryHandler(m.pushObject, async (req) => {
      running(req.runId);
      asServer(req.node?.nodeId);
      const stored = await objects.put(req.objectId, req.objectContent);
      if (stored) router.objectStored(SERVER_NODE_ID, req.objectId);
      return { stored };
    }),
    PullObject: unaryHandler(m.pullObject, (req) => {
      running(req.runId);
      asServer(req.node?.nodeId);
      const { found, available, bytes } = objects.get(req.objectId);
      return {
        objectFound: found,
        objectAvailable: available,
        objectContent: bytes ?? new Uint8Array(),
      };
    }),
    ConfirmMessageReceived: unaryHandler(m.confirmMessageReceived, (req) => {
      running(req.runId);
      objects.delete(req.messageObjectId);
      return {};
    }),
    UpdateRunStatus: unaryHandler(m.updateRunStatus, (req) => {
      const run = runIfNot(req.runId, ["finished"]);
      const status = req.runStatus?.status ?? "";
      if (status !== "finished") return {}; // Flower's app only ever reports its end
      const sub = req.runStatus?.subStatus ?? "";
      if (sub !== "completed" && sub !== "failed" && sub !== "stopped")
        throw new FedbridgeError(Code.InvalidArgument, `unknown run sub-status '${sub}'`);
      logs.flush(run);
      const details = req.runStatus?.details ?? "";
      runs.emit(
        run,
        create(RunEventSchema, { event: { case: "runFinished", value: { status: sub, details } } }),
      );
      runs.finish(run, sub, details);
      router.dropRun(run.runId);
      return {};
    }),
    PushLogs: unaryHandler(m.pushLogs, (req) => {
      const run = runs.get(req.runId);
      if (run !== undefined) logs.append(run, req.logs);
      return {};
    }),
    GetFederationOptions: unaryHandler(m.getFederationOptions, () => {
      throw new FedbridgeError(
        Code.Unimplemented,
        "GetFederationOptions is not served (Flower 1.28 marks it 'to be removed')",
      );
    }),
  });
}

/** A run as Flower's `Run` message. */
export function runToProto(run: RunRecord): Run {
  const iso = (date: Date | undefined) => date?.toISOString() ?? "";
  return create(RunSchema, {
    runId: run.runId,
    fabId: run.fabId,
    fabVersion: run.fabVersion,
    fabHash: run.fabHash,
    overrideConfig: configToScalars(run.overrideConfig),
    pendingAt: iso(run.startedAt),
    startingAt: iso(run.startingAt),
    runningAt: iso(run.runningAt),
    finishedAt: iso(run.finishedAt),
    status: { status: run.status, subStatus: run.subStatus, details: run.details },
    federation: "default",
    runType: "serverapp",
  });
}
