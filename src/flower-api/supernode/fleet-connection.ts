import type { DescMethod, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { type ChannelCredentials, Metadata } from "@grpc/grpc-js";
import { GrpcClient } from "../../core/wire/grpc-client.ts";
import { NodeTracking } from "../../gen/fedbridge/v1/control_pb.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { INLINE_HEADER } from "../superlink/fleet-servicer.ts";
import {
  applyAuthMetadata,
  createAuthSigner,
  createNodeKeyPair,
  type NodeKeyPair,
} from "../superlink/node-auth.ts";

type FleetMethod = (typeof Fleet)["method"][keyof (typeof Fleet)["method"]] & DescMethod;

/**
 * A SuperNode's connection to a Fleet API: every call signed with the node's key, as
 * Flower's node auth interceptor does. The node's key (default: a fresh one, as Flower's
 * self-registering nodes make) is its identity: a SuperNode keeps it across reconnections, so a
 * SuperLink restarted on its database knows it again as the same node.
 */
export class FleetConnection {
  readonly #client: GrpcClient<typeof Fleet>;
  readonly #tracking: GrpcClient<typeof NodeTracking>;
  readonly keys: NodeKeyPair;
  readonly #sign: ReturnType<typeof createAuthSigner>;

  /**
   * `ownConnection`: dial an HTTP/2 connection of its own, even where another connection of
   * this process goes to the same address (grpc-js shares one between them otherwise).
   */
  constructor(
    address: string,
    credentials: ChannelCredentials,
    keys = createNodeKeyPair(),
    ownConnection = false,
  ) {
    this.keys = keys;
    this.#sign = createAuthSigner(keys);
    const options = ownConnection ? { "grpc.use_local_subchannel_pool": 1 } : {};
    this.#client = new GrpcClient(Fleet, address, credentials, options);
    this.#tracking = new GrpcClient(NodeTracking, address, credentials, options);
  }

  /** fedbridge's extension: an app's tracking events for a run (a Flower SuperLink lacks it). */
  async pushTracking(nodeId: bigint, runId: bigint, events: readonly object[]): Promise<void> {
    const metadata = applyAuthMetadata(new Metadata(), this.#sign());
    await this.#tracking.unary(
      NodeTracking.method.pushTrackingEvents,
      { nodeId, runId, eventsJson: JSON.stringify(events) },
      { metadata, timeout: 10 },
    );
  }

  call<M extends FleetMethod>(
    method: M,
    request: MessageInitShape<M["input"]>,
    settings: { timeout?: number; signal?: AbortSignal; inline?: boolean } = {},
  ): Promise<MessageShape<M["output"]>> {
    const metadata = applyAuthMetadata(new Metadata(), this.#sign());
    const { inline, ...rest } = settings;
    if (inline) metadata.set(INLINE_HEADER, "1");
    return this.#client.unary(method, request, { metadata, ...rest });
  }

  close(): void {
    this.#client.close();
    this.#tracking.close();
  }
}
