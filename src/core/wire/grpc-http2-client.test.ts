import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { PullObjectRequestSchema } from "../../gen/flwr/proto/message_pb.ts";
import { Code, FedbridgeError } from "../fedbridge-error.ts";
import { GrpcHttp2Channel } from "./grpc-http2-client.ts";
import { startGrpcHttp2Server } from "./grpc-http2-server.ts";
import {
  implementation,
  rawServiceDefinition,
  type UnaryHandler,
  unaryHandler,
  unaryRoutes,
} from "./grpc-service.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type FleetHandlers = {
  [K in keyof (typeof Fleet)["method"]]?: UnaryHandler<(typeof Fleet)["method"][K]>;
};

/** A grpc-js server (another implementation of the protocol) with these Fleet methods. */
async function grpcJsServer(handlers: FleetHandlers, port = 0): Promise<number> {
  const server = new Server();
  const byName: Record<string, unknown> = {};
  for (const method of Fleet.methods) {
    const handler = handlers[method.localName as keyof FleetHandlers];
    if (handler) byName[method.name] = unaryHandler(method, handler as UnaryHandler<typeof method>);
  }
  server.addService(rawServiceDefinition(Fleet), implementation(byName));
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  cleanups.push(() => server.forceShutdown());
  return bound;
}

function channel(port: number): GrpcHttp2Channel {
  const made = new GrpcHttp2Channel(`127.0.0.1:${port}`, "insecure");
  cleanups.push(() => made.close());
  return made;
}

const PULL = "/flwr.proto.Fleet/PullObject";
const encode = (objectId: string) =>
  toBinary(PullObjectRequestSchema, create(PullObjectRequestSchema, { objectId }));

describe("GrpcHttp2Channel", () => {
  it("calls a grpc-js server and our own: large messages both ways, as they were", async () => {
    const model = new Uint8Array(3 * 2 ** 20).map((_, i) => i * 13);
    const handlers: FleetHandlers = {
      pullObject: (request) => ({
        objectFound: request.objectId === "m",
        objectAvailable: true,
        objectContent: model,
      }),
    };
    const ours = await startGrpcHttp2Server("127.0.0.1:0", unaryRoutes(Fleet, handlers), {
      name: "the Fleet API",
      maxRequestBytes: 2 ** 20,
    });
    cleanups.push(() => ours.close());
    for (const port of [await grpcJsServer(handlers), ours.port]) {
      const response = await channel(port).unary(PULL, encode("m"));
      // Field 3 (object_content) holds the model, after found and available.
      expect(
        Buffer.from(response.subarray(response.byteLength - model.byteLength)).equals(model),
      ).toBe(true);
      expect(response[0]).toBe(0x08); // field 1: object_found
    }
  });

  it("gives a failed call's status code and message as the server sent them", async () => {
    const port = await grpcJsServer({
      pullObject: () => {
        throw new FedbridgeError(Code.PermissionDenied, "run 7: 100% refused, ça va?");
      },
    });
    await expect(channel(port).unary(PULL, encode("m"))).rejects.toMatchObject({
      code: Code.PermissionDenied,
      message: "PullObject: run 7: 100% refused, ça va?",
    });
    await expect(
      channel(port).unary("/flwr.proto.Fleet/Nope", new Uint8Array()),
    ).rejects.toMatchObject({
      code: Code.Unimplemented,
    });
  });

  it("fails a call at its deadline, or when cancelled, and the server's handler sees it go", async () => {
    const gone: unknown[] = [];
    const port = await grpcJsServer({
      pullMessages: (_request, context) =>
        new Promise<never>((_resolve, reject) =>
          context.signal.addEventListener("abort", () => {
            gone.push(true);
            reject(new Error("aborted"));
          }),
        ),
    });
    const calls = channel(port);
    const PULL_MESSAGES = "/flwr.proto.Fleet/PullMessages";
    await expect(
      calls.unary(PULL_MESSAGES, new Uint8Array(), { timeout: 0.2 }),
    ).rejects.toMatchObject({
      code: Code.DeadlineExceeded,
    });
    const cancel = new AbortController();
    const call = calls.unary(PULL_MESSAGES, new Uint8Array(), { signal: cancel.signal });
    setTimeout(() => cancel.abort(), 100);
    await expect(call).rejects.toMatchObject({ code: Code.Canceled });
    await expect.poll(() => gone.length).toBe(2);
  });

  it("says UNAVAILABLE while nothing listens, and reaches the server once it is back", async () => {
    const probe = http2.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const calls = channel(port);
    await expect(calls.unary(PULL, encode("m"))).rejects.toMatchObject({
      code: Code.Unavailable,
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    await grpcJsServer({ pullObject: () => ({ objectFound: false }) }, port);
    expect((await calls.unary(PULL, encode("m"))).byteLength).toBe(0);
  });

  it("maps an answer without a gRPC status from its HTTP status", async () => {
    const server = http2.createServer((_request, response) => {
      response.writeHead(503);
      response.end("busy");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const calls = channel((server.address() as AddressInfo).port);
    cleanups.push(() => calls.close());
    await expect(calls.unary(PULL, encode("m"))).rejects.toMatchObject({
      code: Code.Unavailable,
      message: expect.stringMatching(/HTTP 503/),
    });
  });
});
