import { create, type DescMethod } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { GrpcHttp2ServerOptions } from "../../core/wire/grpc-http2-server.ts";
import {
  type CallContext,
  decodeRequest,
  type RawUnaryHandler,
  type UnaryHandler,
  unaryRoutes,
} from "../../core/wire/grpc-service.ts";
import { encodeAroundLastBytes, encodeMessage } from "../../core/wire/proto-encode.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import {
  type PullObjectRequest,
  PullObjectRequestSchema,
  PullObjectResponseSchema,
} from "../../gen/flwr/proto/message_pb.ts";
import { RunSchema } from "../../gen/flwr/proto/run_pb.ts";
import { configToScalars } from "../app/scalars.ts";
import { chunkBodyLead } from "../objects/align-chunk.ts";
import type { ObjectLookup, ObjectStore } from "../objects/object-store.ts";
import { INLINE_HEADER, INLINE_MAX_BYTES } from "./fleet-inline.ts";
import type { MessageRouter } from "./message-router.ts";
import { verifyAuthMetadata } from "./node-auth.ts";
import type { NodeRegistry } from "./node-registry.ts";
import { FLEET_MAX_REQUEST_BYTES } from "./request-limits.ts";
import type { RunRegistry } from "./run-registry.ts";

export interface FleetServicerOptions {
  /** How long PullMessages holds a call open waiting for an instruction, in ms. Default: 10 000. */
  pullWaitMs?: number;
}

export { INLINE_HEADER, INLINE_MAX_BYTES } from "./fleet-inline.ts";

function wantsInline(context: CallContext): boolean {
  return context.metadata.get(INLINE_HEADER)[0] === "1";
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
 * How our gRPC server serves the Fleet API, wherever it does (the SuperLink, a site's bridge):
 * requests bounded, and a pushed array chunk placed so that its body lands 8-aligned, its
 * values then read where they lie.
 */
export function fleetServerOptions(tls?: GrpcHttp2ServerOptions["tls"]): GrpcHttp2ServerOptions {
  return {
    name: "the Fleet API",
    maxRequestBytes: FLEET_MAX_REQUEST_BYTES,
    requestLead: chunkBodyLead,
    ...(tls ? { tls } : {}),
  };
}

/** The Fleet API: its typed handlers (Connect serves them to browsers) and its gRPC routes. */
export interface FleetApi {
  handlers: FleetHandlers;
  /**
   * For our gRPC server (startGrpcHttp2Server): the handlers', except that PullObject answers
   * with the object's bytes as the pieces they lie in. A model built here (a ServerApp's) goes
   * out as each object's header and then the array's own bytes, so the model that every node
   * pulls is never copied into a response, nor kept twice.
   */
  routes: Map<string, RawUnaryHandler>;
}

export function createFleetApi(state: FleetState, options: FleetServicerOptions = {}): FleetApi {
  const { handlers, lookUpObject } = fleetService(state, options);
  const routes = unaryRoutes(Fleet, handlers);
  const { pullObject } = Fleet.method;
  routes.set(`/${Fleet.typeName}/${pullObject.name}`, async (bytes, context) => {
    const request = decodeRequest(PullObjectRequestSchema, bytes, pullObject.name);
    const { found, available, size, pieces } = lookUpObject(request, context);
    const answer = create(PullObjectResponseSchema, {
      objectFound: found,
      objectAvailable: available,
    });
    return pieces === undefined || size === undefined
      ? encodeMessage(PullObjectResponseSchema, answer)
      : encodeAroundLastBytes(PullObjectResponseSchema, answer, size, pieces);
  });
  return { handlers, routes };
}

/** The Fleet API's typed handlers alone (createFleetApi gives its gRPC routes too). */
export function createFleetHandlers(
  state: FleetState,
  options: FleetServicerOptions = {},
): FleetHandlers {
  return fleetService(state, options).handlers;
}

/**
 * The Fleet methods' logic, whatever the transport. Every call is authenticated by its signed
 * metadata, and a node may only act as itself. PullMessages holds the call until an
 * instruction is queued (bounded), so idle nodes get work at once.
 */
function fleetService(
  state: FleetState,
  options: FleetServicerOptions,
): {
  handlers: FleetHandlers;
  lookUpObject: (request: PullObjectRequest, context: CallContext) => ObjectLookup;
} {
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
  /** PullObject's checks (the caller is the node, its run is running), then the lookup. */
  const lookUpObject = (request: PullObjectRequest, context: CallContext): ObjectLookup => {
    asNode(context, request.node?.nodeId);
    runs.running(request.runId);
    return objects.get(request.objectId);
  };

  const handlers: FleetHandlers = {
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
      const { found, available, bytes } = lookUpObject(req, ctx);
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
  return { handlers, lookUpObject };
}

/** Only for the type: ties a handler to its method's request and response types. */
function typed<M extends DescMethod>(_method: M, handler: UnaryHandler<M>): UnaryHandler<M> {
  return handler;
}
