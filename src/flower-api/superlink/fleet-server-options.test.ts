import { credentials } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { GrpcClient } from "../../core/wire/grpc-client.ts";
import { startGrpcHttp2Server } from "../../core/wire/grpc-http2-server.ts";
import { unaryRoutes } from "../../core/wire/grpc-service.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { deflateArray } from "../objects/deflate.ts";
import { parseObject } from "../objects/inflate.ts";
import { FlowerArray } from "../records/array.ts";
import { fleetServerOptions } from "./fleet-servicer.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe("the Fleet server's options", () => {
  it("land a pushed array chunk's body 8-aligned when it is gathered from pieces, so the SuperLink sums its values where they lie", async () => {
    const bodyOffsets: number[] = [];
    const routes = unaryRoutes(Fleet, {
      pushObject: (request) => {
        bodyOffsets.push(parseObject(request.objectContent).body.byteOffset % 8);
        return { stored: true };
      },
    });
    const server = await startGrpcHttp2Server("127.0.0.1:0", routes, fleetServerOptions());
    const client = new GrpcClient(Fleet, `127.0.0.1:${server.port}`, credentials.createInsecure());
    cleanups.push(
      () => server.close(),
      () => client.close(),
    );
    // Arrays of several sizes, each chunk's header (so where its body starts) differing, all
    // larger than one read: one that arrives whole is decoded where it arrived, as it lies.
    for (const floats of [100_000, 300_001, 1_000_000]) {
      const array = FlowerArray.fromTypedArray(new Float32Array(floats).fill(0.5));
      for (const chunk of deflateArray(array).children) {
        const { stored } = await client.unary(Fleet.method.pushObject, {
          node: { nodeId: 7n },
          runId: 1n,
          objectId: chunk.id,
          objectContent: chunk.bytes,
        });
        expect(stored).toBe(true);
      }
    }
    expect(bodyOffsets).toHaveLength(3);
    expect(new Set(bodyOffsets)).toEqual(new Set([0]));
  });
});
