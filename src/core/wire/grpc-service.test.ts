import {
  credentials,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { GrpcClient } from "./grpc-client.ts";
import { rawServiceDefinition, unaryHandler } from "./grpc-service.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A server whose RegisterNode runs `handler`; resolves each call's handler signal, and a
 * promise settled when grpc-js reports the call "cancelled" (which it does after every call).
 */
async function serve(hang: boolean) {
  const signals: AbortSignal[] = [];
  let onCalled = () => {};
  const called = new Promise<void>((resolve) => {
    onCalled = resolve;
  });
  let onCancelled = () => {};
  const cancelled = new Promise<void>((resolve) => {
    onCancelled = resolve;
  });
  const handle = unaryHandler(Fleet.method.registerNode, (_req, context) => {
    signals.push(context.signal);
    onCalled();
    return hang ? new Promise<never>(() => {}) : { nodeId: 5n };
  });
  const server = new Server();
  server.addService(rawServiceDefinition(Fleet), {
    RegisterNode: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      call.on("cancelled", () => setImmediate(onCancelled)); // after the handler's own listener
      handle(call, callback);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  const client = new GrpcClient(Fleet, `127.0.0.1:${port}`, credentials.createInsecure());
  cleanups.push(() => {
    client.close();
    server.forceShutdown();
  });
  return { client, signals, called, cancelled };
}

describe("unaryHandler", () => {
  it("leaves a finished call's signal alone, though grpc-js reports every call cancelled after its trailers", async () => {
    const { client, signals, cancelled } = await serve(false);
    expect((await client.unary(Fleet.method.registerNode, {})).nodeId).toBe(5n);
    await cancelled;
    expect(signals.map((s) => s.aborted)).toEqual([false]);
  });

  it("aborts the signal of a call whose caller goes away before the answer", async () => {
    const { client, signals, called, cancelled } = await serve(true);
    const gone = new AbortController();
    const call = client.unary(Fleet.method.registerNode, {}, { signal: gone.signal });
    await called;
    gone.abort();
    await expect(call).rejects.toThrow();
    await cancelled;
    expect(signals.map((s) => s.aborted)).toEqual([true]);
  });
});
