import { EventEmitter } from "node:events";
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Control } from "../../gen/fedbridge/v1/control_pb.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { GrpcClient } from "./grpc-client.ts";
import {
  implementation,
  rawServiceDefinition,
  serverStreamHandler,
  unaryHandler,
} from "./grpc-service.ts";

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
  const client = await fleetServer({
    RegisterNode: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      call.on("cancelled", () => setImmediate(onCancelled)); // after the handler's own listener
      handle(call, callback);
    },
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

describe("serverStreamHandler", () => {
  /** A grpc-js stream whose writes are taken only as far as `room` allows; `drain` makes room. */
  function slowCall(room: number) {
    const call = Object.assign(new EventEmitter(), {
      request: Buffer.alloc(0),
      metadata: new Metadata(),
      written: 0,
      ended: false,
      write() {
        call.written++;
        return call.written < room;
      },
      end() {
        call.ended = true;
      },
      drain(more: number) {
        room = call.written + more;
        call.emit("drain");
      },
    });
    return call;
  }

  it("has send wait while the stream is full, so a long stream does not pile up in memory", async () => {
    const call = slowCall(2);
    const sent: number[] = [];
    serverStreamHandler(Control.method.streamRun, async (_request, send) => {
      for (let i = 0; i < 5; i++) {
        await send({ event: { case: "log", value: `line ${i}` } });
        sent.push(i);
      }
    })(call as unknown as ServerWritableStream<Buffer, Buffer>);
    await expect.poll(() => sent).toEqual([0]);
    expect(call.written).toBe(2); // the second write filled the stream: its send waits
    call.drain(10);
    await expect.poll(() => call.ended).toBe(true);
    expect(sent).toEqual([0, 1, 2, 3, 4]);
  });

  it("lets a waiting send go when the caller goes away", async () => {
    const call = slowCall(1);
    let done = false;
    serverStreamHandler(Control.method.streamRun, async (_request, send, context) => {
      await send({ event: { case: "log", value: "one" } });
      expect(context.signal.aborted).toBe(true);
      done = true;
    })(call as unknown as ServerWritableStream<Buffer, Buffer>);
    call.emit("cancelled");
    await expect.poll(() => done).toBe(true);
  });
});

/**
 * Received bytes are decoded in place (no copy of a model-sized message): this holds only
 * because grpc-js assembles every received message into a buffer of its own and never writes
 * to it again. A grpc-js that reused its buffers would change kept objects under their SHA-256.
 */
describe("received bytes", () => {
  const sizes = [100, 70_000, 3_000_000];

  it("stay as received at the server after later calls on the same connection", async () => {
    const kept: Uint8Array[] = [];
    const handle = unaryHandler(Fleet.method.pushObject, (request) => {
      kept.push(request.objectContent);
      return { stored: true };
    });
    const client = await fleetServer({ PushObject: handle });
    for (const size of sizes)
      for (const fill of [0xaa, 0xbb])
        await client.unary(Fleet.method.pushObject, {
          objectContent: new Uint8Array(size).fill(fill),
        });
    expect(kept.map((bytes) => [bytes.length, new Set(bytes)])).toEqual(
      sizes.flatMap((size) => [
        [size, new Set([0xaa])],
        [size, new Set([0xbb])],
      ]),
    );
  });

  it("stay as received at the client after later calls on the same connection", async () => {
    const answers = sizes.flatMap((size) => [0xaa, 0xbb].map((fill) => ({ size, fill })));
    let next = 0;
    const handle = unaryHandler(Fleet.method.pullObject, () => {
      const { size, fill } = answers[next++] as { size: number; fill: number };
      return {
        objectFound: true,
        objectAvailable: true,
        objectContent: new Uint8Array(size).fill(fill),
      };
    });
    const client = await fleetServer({ PullObject: handle });
    const kept: Uint8Array[] = [];
    for (const _ of answers)
      kept.push((await client.unary(Fleet.method.pullObject, {})).objectContent);
    expect(kept.map((bytes) => [bytes.length, new Set(bytes)])).toEqual(
      answers.map(({ size, fill }) => [size, new Set([fill])]),
    );
  });
});

/** A Fleet server with these raw handlers, and a client of it; both closed after the test. */
async function fleetServer(handlers: Record<string, unknown>): Promise<GrpcClient<typeof Fleet>> {
  const server = new Server();
  server.addService(rawServiceDefinition(Fleet), implementation(handlers));
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
  return client;
}
