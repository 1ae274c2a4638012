import type { DescMethod, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { type ChannelCredentials, Metadata } from "@grpc/grpc-js";
import { GrpcClient } from "../../core/grpc-client.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { INLINE_HEADER } from "./fleet-servicer.ts";
import {
  applyAuthMetadata,
  createAuthSigner,
  createNodeKeyPair,
  type NodeKeyPair,
} from "./node-auth.ts";

type FleetMethod = (typeof Fleet)["method"][keyof (typeof Fleet)["method"]] & DescMethod;

/**
 * A SuperNode's connection to a Fleet API: every call signed with the node's key, as
 * Flower's node auth interceptor does. A fresh key per connection, as Flower's
 * self-registering nodes make (the SuperLink refuses a reused key).
 */
export class FleetConnection {
  readonly #client: GrpcClient<typeof Fleet>;
  readonly keys: NodeKeyPair = createNodeKeyPair();
  readonly #sign = createAuthSigner(this.keys);

  constructor(address: string, credentials: ChannelCredentials) {
    this.#client = new GrpcClient(Fleet, address, credentials);
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
  }
}
