import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { UnaryHandler } from "../../core/wire/grpc-service.ts";
import { type NodeTracking, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { verifyAuthMetadata } from "./node-auth.ts";
import type { NodeRegistry } from "./node-registry.ts";
import type { RunRegistry } from "./run-registry.ts";

/** Largest batch of tracking events a node may push at once, in bytes of JSON. */
const MAX_EVENTS_JSON = 1 << 20;

/**
 * fedbridge's NodeTracking service on the Fleet port: a node's app events (SummaryWriter) for
 * a running run become events of that run, which `fedbridge run --superlink --out` writes to
 * the run's output folder. The caller must be the node it says it is (signed metadata).
 */
export function createNodeTrackingHandlers(state: { nodes: NodeRegistry; runs: RunRegistry }): {
  pushTrackingEvents: UnaryHandler<typeof NodeTracking.method.pushTrackingEvents>;
} {
  return {
    pushTrackingEvents: (req, ctx) => {
      const { publicKeyPem } = verifyAuthMetadata((key) => ctx.metadata.get(key)[0]);
      if (state.nodes.nodeIdForKey(Buffer.from(publicKeyPem).toString("latin1")) !== req.nodeId) {
        throw new FedbridgeError(Code.Unauthenticated, "Invalid node ID");
      }
      if (req.eventsJson.length > MAX_EVENTS_JSON)
        throw new FedbridgeError(Code.ResourceExhausted, "too many tracking events at once");
      if (!Array.isArray(safeJson(req.eventsJson)))
        throw new FedbridgeError(Code.InvalidArgument, "events_json must be a JSON array");
      const run = state.runs.running(req.runId);
      state.runs.emit(
        run,
        create(RunEventSchema, {
          event: { case: "tracking", value: { nodeId: req.nodeId, eventsJson: req.eventsJson } },
        }),
      );
      return {};
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
