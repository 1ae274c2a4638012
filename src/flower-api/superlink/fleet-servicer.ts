import { create, type DescMethod } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CallContext, UnaryHandler } from "../../core/wire/grpc-service.ts";
import { placeLastBytes } from "../../core/wire/proto-encode.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { PullObjectResponseSchema } from "../../gen/flwr/proto/message_pb.ts";
import { RunSchema } from "../../gen/flwr/proto/run_pb.ts";
import { configToScalars } from "../app/scalars.ts";
import type { DeflatedObject } from "../objects/deflate.ts";
import type { ObjectStore } from "../objects/object-store.ts";
import { INLINE_HEADER, INLINE_MAX_BYTES } from "./fleet-inline.ts";
import type { MessageRouter } from "./message-router.ts";
import { verifyAuthMetadata } from "./node-auth.ts";
import type { NodeRegistry } from "./node-registry.ts";
import type { RunRegistry } from "./run-registry.ts";

export interface FleetServicerOptions {
  /** How long PullMessages holds a call open waiting for an instruction, in ms. Default: 10 000. */
  pullWaitMs?: number;
}

export { INLINE_HEADER, INLINE_MAX_BYTES } from "./fleet-inline.ts";

function wantsInline(context: CallContext): boolean {
  return context.metadata.get(INLINE_HEADER)[0] === "1";
}

/**
 * Where the SuperLink keeps the bytes of an object built here (a ServerApp's model): inside
 * the PullObject response that serves them, so it is encoded once for every node that pulls it.
 */
export function placeInPullResponse(object: DeflatedObject): Uint8Array {
  const found = create(PullObjectResponseSchema, { objectFound: true, objectAvailable: true });
  return placeLastBytes(PullObjectResponseSchema, found, object.size, (into) => object.join(into));
}

export interface FleetState {
  nodes: NodeRegistry;
  runs: RunRegistry;
  router: MessageRouter;
  objects: ObjectStore;
}

type FleetMethods = (typeof Fleet)["method"];

/** One typed handler per Fleet method, keyed by its local name (`registerNode`, ...). */
export type FleetHandlers = { [K in keyof FleetMethods]: UnaryHandler<FleetMethods[K]> };

/**
 * The Fleet methods' logic, whatever the transport. Every call is authenticated by its signed
 * metadata, and a node may only act as itself. PullMessages holds the call until an
 * instruction is queued (bounded), so idle nodes get work at once.
 */
export function createFleetHandlers(
  state: FleetState,
  options: FleetServicerOptions = {},
): FleetHandlers {
  const { nodes, runs, router, objects } = state;
  const pullWaitMs = options.pullWaitMs ?? 10_000;

  /** The caller's public key, after checking the signature and timestamp. */
  const callerKey = (metadata: Metadata): string => {
    const { publicKeyPem } = verifyAuthMetadata((key) => metadata.get(key)[0]);
    return Buffer.from(publicKeyPem).toString("latin1");
  };
  /** Checks that the caller is the node it claims to be. */
  const asNode = (context: CallContext, nodeId: bigint | undefined): bigint => {
    if (nodeId === undefined || nodes.nodeIdForKey(callerKey(context.metadata)) !== nodeId) {
      throw new FedbridgeError(Code.Unauthenticated, "Invalid node ID");
    }
    return nodeId;
  };
  const sameKey = (context: CallContext, bodyKey: Uint8Array): string => {
    const key = callerKey(context.metadata);
    if (Buffer.from(bodyKey).toString("latin1") !== key) {
      throw new FedbridgeError(
        Code.Unauthenticated,
        "the public key in the request differs from the one in the metadata",
      );
    }
    return key;
  };
  const m = Fleet.method;

  return {
    registerNode: typed(m.registerNode, (req, ctx) => ({
      nodeId: nodes.register(sameKey(ctx, req.publicKey)),
    })),
    activateNode: typed(m.activateNode, (req, ctx) => ({
      nodeId: nodes.activate(sameKey(ctx, req.publicKey), req.heartbeatInterval),
    })),
    deactivateNode: typed(m.deactivateNode, (req, ctx) => {
      nodes.deactivate(asNode(ctx, req.nodeId));
      return {};
    }),
    unregisterNode: typed(m.unregisterNode, (req, ctx) => {
      nodes.unregister(asNode(ctx, req.nodeId));
      return {};
    }),
    sendNodeHeartbeat: typed(m.sendNodeHeartbeat, (req, ctx) => ({
      success: nodes.heartbeat(asNode(ctx, req.node?.nodeId), req.heartbeatInterval),
    })),
    pullMessages: typed(m.pullMessages, async (req, ctx) => {
      const nodeId = asNode(ctx, req.node?.nodeId);
      const inlineUpTo = wantsInline(ctx) ? INLINE_MAX_BYTES : 0;
      const next = await router.pullInstruction(nodeId, pullWaitMs, ctx.signal, inlineUpTo);
      return next ? { messagesList: [next.message], messageObjectTrees: [next.tree] } : {};
    }),
    pushMessages: typed(m.pushMessages, (req, ctx) => {
      const nodeId = asNode(ctx, req.node?.nodeId);
      const [reply] = req.messagesList;
      if (reply === undefined)
        throw new FedbridgeError(Code.InvalidArgument, "PushMessages carries no message");
      runs.running(reply.metadata?.runId ?? 0n);
      const objectsToPush = router.pushReply(
        nodeId,
        reply,
        req.messageObjectTrees[0],
        wantsInline(ctx),
      );
      return {
        reconnect: { reconnect: 5n },
        results: { [reply.metadata?.messageId ?? ""]: 0 },
        objectsToPush,
      };
    }),
    getRun: typed(m.getRun, (req, ctx) => {
      asNode(ctx, req.node?.nodeId);
      const run = runs.running(req.runId);
      return {
        run: create(RunSchema, {
          runId: run.runId,
          fabId: run.fabId,
          fabVersion: run.fabVersion,
          fabHash: run.fabHash,
          overrideConfig: configToScalars(run.overrideConfig),
          runningAt: run.startedAt.toISOString(),
          status: { status: run.status, subStatus: run.subStatus },
          federation: "default",
          runType: "serverapp",
        }),
      };
    }),
    getFab: typed(m.getFab, (req, ctx) => {
      asNode(ctx, req.node?.nodeId);
      const run = runs.running(req.runId);
      const content = run.fabHash === req.hashStr ? runs.bundle(req.hashStr) : undefined;
      if (content === undefined)
        throw new FedbridgeError(Code.PermissionDenied, `Found no FAB with hash: ${req.hashStr}`);
      return { fab: { hashStr: req.hashStr, content } };
    }),
    pushObject: typed(m.pushObject, async (req, ctx) => {
      const nodeId = asNode(ctx, req.node?.nodeId);
      runs.running(req.runId);
      const stored = await objects.put(req.objectId, req.objectContent);
      if (stored) router.objectStored(nodeId, req.objectId);
      return { stored };
    }),
    pullObject: typed(m.pullObject, (req, ctx) => {
      asNode(ctx, req.node?.nodeId);
      runs.running(req.runId);
      const { found, available, bytes } = objects.get(req.objectId);
      return {
        objectFound: found,
        objectAvailable: available,
        objectContent: bytes ?? new Uint8Array(),
      };
    }),
    confirmMessageReceived: typed(m.confirmMessageReceived, (req, ctx) => {
      router.confirmReceived(asNode(ctx, req.node?.nodeId), req.messageObjectId);
      return {};
    }),
  };
}

/** Only for the type: ties a handler to its method's request and response types. */
function typed<M extends DescMethod>(_method: M, handler: UnaryHandler<M>): UnaryHandler<M> {
  return handler;
}
