import {
  create,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { type ChannelSecurity, GrpcHttp2Channel } from "../../core/wire/grpc-http2-client.ts";
import { encodeMessage } from "../../core/wire/proto-encode.ts";
import { NodeTracking } from "../../gen/fedbridge/v1/control_pb.ts";
import type { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { chunkBodyLead } from "../objects/align-chunk.ts";
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
 * SuperLink restarted on its database knows it again as the same node. Calls go over our own
 * gRPC client (core/wire/grpc-http2-client.ts): an object's bytes leave as they were encoded.
 */
export class FleetConnection {
  readonly #channel: GrpcHttp2Channel;
  readonly keys: NodeKeyPair;
  readonly #sign: ReturnType<typeof createAuthSigner>;

  /**
   * `ownConnection`: dial an HTTP/2 connection of its own, even where another connection of
   * this process goes to the same address (they share one otherwise).
   */
  constructor(
    address: string,
    security: ChannelSecurity,
    keys = createNodeKeyPair(),
    ownConnection = false,
  ) {
    this.keys = keys;
    this.#sign = createAuthSigner(keys);
    this.#channel = new GrpcHttp2Channel(address, security, { ownConnection });
  }

  /** fedbridge's extension: an app's tracking events for a run (a Flower SuperLink lacks it). */
  async pushTracking(nodeId: bigint, runId: bigint, events: readonly object[]): Promise<void> {
    const method = NodeTracking.method.pushTrackingEvents;
    const request = { nodeId, runId, eventsJson: JSON.stringify(events) };
    await this.#call(method, request, this.#signed(), 10);
  }

  call<M extends FleetMethod>(
    method: M,
    request: MessageInitShape<M["input"]>,
    settings: { timeout?: number; signal?: AbortSignal; inline?: boolean } = {},
  ): Promise<MessageShape<M["output"]>> {
    const metadata = this.#signed();
    if (settings.inline) metadata.set(INLINE_HEADER, "1");
    return this.#call(method, request, metadata, settings.timeout, settings.signal);
  }

  /** A call whose request is encoded already, in pieces written as they are (object-calls.ts). */
  callEncoded<M extends FleetMethod>(
    method: M,
    request: readonly Uint8Array[],
  ): Promise<MessageShape<M["output"]>> {
    return this.#send(method, request, this.#signed());
  }

  close(): void {
    this.#channel.close();
  }

  #signed(): Metadata {
    return applyAuthMetadata(new Metadata(), this.#sign());
  }

  async #call<M extends DescMethod>(
    method: M,
    request: MessageInitShape<M["input"]>,
    metadata: Metadata,
    timeout?: number,
    signal?: AbortSignal,
  ): Promise<MessageShape<M["output"]>> {
    const bytes = encodeMessage(method.input, create(method.input, request));
    return this.#send(method, bytes, metadata, timeout, signal);
  }

  async #send<M extends DescMethod>(
    method: M,
    request: Uint8Array | readonly Uint8Array[],
    metadata: Metadata,
    timeout?: number,
    signal?: AbortSignal,
  ): Promise<MessageShape<M["output"]>> {
    const response = await this.#channel.unary(
      `/${method.parent.typeName}/${method.name}`,
      request,
      {
        headers: metadata.toHttp2Headers(),
        // A pulled ArrayChunk lands with its values aligned (any other response: at 0).
        responseLead: chunkBodyLead,
        ...(timeout === undefined ? {} : { timeout }),
        ...(signal === undefined ? {} : { signal }),
      },
    );
    // Decoded in place: each response is a buffer of its own (or a view of a received piece).
    return fromBinary(method.output, response) as MessageShape<M["output"]>;
  }
}
