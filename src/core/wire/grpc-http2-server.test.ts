import * as http2 from "node:http2";
import { connect } from "node:net";
import { create } from "@bufbuild/protobuf";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { PullObjectResponseSchema } from "../../gen/flwr/proto/message_pb.ts";
import { Code, FedbridgeError } from "../fedbridge-error.ts";
import { GrpcClient } from "./grpc-client.ts";
import { type GrpcHttp2Server, startGrpcHttp2Server } from "./grpc-http2-server.ts";
import { grpcPrefix } from "./grpc-messages.ts";
import { unaryRoutes } from "./grpc-service.ts";
import { encodeAroundLastBytes } from "./proto-encode.ts";

const MAX_REQUEST = 4 * 2 ** 20;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Fleet server whose methods do what a test needs; what they saw is in `seen`. */
function serve(handlers: Parameters<typeof unaryRoutes<typeof Fleet>>[1]) {
  return serveRoutes(unaryRoutes(Fleet, handlers));
}

/** A server of `routes`, and a Fleet client of it. */
async function serveRoutes(routes: Parameters<typeof startGrpcHttp2Server>[1]) {
  const server = await startGrpcHttp2Server("127.0.0.1:0", routes, {
    name: "the Fleet API",
    maxRequestBytes: MAX_REQUEST,
  });
  const client = new GrpcClient(Fleet, `127.0.0.1:${server.port}`, credentials.createInsecure());
  cleanups.push(
    () => server.close(),
    () => client.close(),
  );
  return { server, client };
}

/** One call made by hand: the raw body as given, the status that comes back. */
async function rawCall(
  server: GrpcHttp2Server,
  path: string,
  body: Uint8Array[],
  headers: http2.OutgoingHttpHeaders = {},
): Promise<{ status: string; message: string }> {
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  cleanups.push(() => session.destroy());
  const call = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  const answer: http2.IncomingHttpHeaders = {};
  call.on("response", (h) => Object.assign(answer, h));
  call.on("trailers", (h) => Object.assign(answer, h));
  call.on("data", () => {});
  call.on("error", () => {});
  for (const piece of body) call.write(piece);
  call.end();
  await new Promise((resolve) => call.once("close", resolve));
  return {
    status: String(answer["grpc-status"]),
    message: decodeURIComponent(String(answer["grpc-message"] ?? "")),
  };
}

const framed = (message: Uint8Array) => [grpcPrefix(message.byteLength), message];
const PULL = "/flwr.proto.Fleet/PullObject";

describe("startGrpcHttp2Server", () => {
  it("answers a gRPC client: large messages both ways as they were, metadata reaching the handler", async () => {
    const model = new Uint8Array(3 * 2 ** 20).map((_, i) => i * 7);
    let pushed: Uint8Array | undefined;
    let said: unknown;
    const { client } = await serve({
      pullObject: (_request, context) => {
        said = context.metadata.get("x-said")[0];
        return { objectFound: true, objectAvailable: true, objectContent: model };
      },
      pushObject: (request) => {
        pushed = request.objectContent;
        return { stored: true };
      },
    });
    const metadata = new Metadata();
    metadata.set("x-said", "hello");
    const pulled = await client.unary(Fleet.method.pullObject, { objectId: "a" }, { metadata });
    expect(Buffer.from(pulled.objectContent).equals(model)).toBe(true);
    expect(said).toBe("hello");
    const reply = await client.unary(Fleet.method.pushObject, { objectContent: model });
    expect(reply.stored).toBe(true);
    expect(Buffer.from(pushed as Uint8Array).equals(model)).toBe(true);
  });

  it("sends a response given as pieces as the one message they make", async () => {
    const model = new Uint8Array(3 * 2 ** 20).map((_, i) => i * 7);
    const answer = create(PullObjectResponseSchema, { objectFound: true, objectAvailable: true });
    const pieces = [model.subarray(0, 5), model.subarray(5, 2 ** 20), model.subarray(2 ** 20)];
    const routes = new Map([
      [
        PULL,
        async () => encodeAroundLastBytes(PullObjectResponseSchema, answer, model.length, pieces),
      ],
    ]);
    const { client } = await serveRoutes(routes);
    const pulled = await client.unary(Fleet.method.pullObject, { objectId: "a" });
    expect(pulled.objectAvailable).toBe(true);
    expect(Buffer.from(pulled.objectContent).equals(model)).toBe(true);
  });

  it("places a request gathered from pieces where its lead says", async () => {
    const offsets: number[] = [];
    const server = await startGrpcHttp2Server(
      "127.0.0.1:0",
      new Map([
        [
          "/flwr.proto.Fleet/PushObject",
          async (request: Uint8Array) => {
            offsets.push(request.byteOffset % 8);
            return new Uint8Array(0);
          },
        ],
      ]),
      { name: "the Fleet API", maxRequestBytes: MAX_REQUEST, requestLead: () => 3 },
    );
    cleanups.push(() => server.close());
    const request = new Uint8Array(3 * 2 ** 20);
    const pieces = [grpcPrefix(request.byteLength), request.subarray(0, 10), request.subarray(10)];
    expect((await rawCall(server, "/flwr.proto.Fleet/PushObject", pieces)).status).toBe("0");
    expect(offsets).toEqual([3]);
  });

  it("sends what a handler throws as the call's status and message", async () => {
    const { client } = await serve({
      getRun: () => {
        throw new FedbridgeError(Code.PermissionDenied, "run 7: 100% refused, ça va?");
      },
      getFab: () => {
        throw new Error("a bug");
      },
    });
    await expect(client.unary(Fleet.method.getRun, { runId: 7n })).rejects.toMatchObject({
      code: Code.PermissionDenied,
      message: "GetRun: run 7: 100% refused, ça va?",
    });
    await expect(client.unary(Fleet.method.getFab, {})).rejects.toMatchObject({
      code: Code.Internal,
      message: expect.stringContaining("a bug"),
    });
    // A method the server has no handler for.
    await expect(client.unary(Fleet.method.registerNode, {})).rejects.toMatchObject({
      code: Code.Unimplemented,
    });
  });

  it("refuses every malformed request with a status, and goes on serving", async () => {
    const { server, client } = await serve({
      pullObject: () => ({ objectFound: false }),
    });
    const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]);
    const cases: [string, Uint8Array[], http2.OutgoingHttpHeaders, Code, RegExp][] = [
      ["no message", [], {}, Code.InvalidArgument, /no complete message/],
      [
        "a cut-off message",
        [grpcPrefix(10), new Uint8Array(3)],
        {},
        Code.InvalidArgument,
        /no complete/,
      ],
      [
        "two messages",
        [...framed(new Uint8Array(0)), ...framed(new Uint8Array(0))],
        {},
        Code.InvalidArgument,
        /more than one/,
      ],
      ["garbage", framed(garbage), {}, Code.InvalidArgument, /not a valid/],
      ["too large", [grpcPrefix(MAX_REQUEST + 1)], {}, Code.ResourceExhausted, /over the limit/],
      ["compressed", [new Uint8Array([1, 0, 0, 0, 0])], {}, Code.InvalidArgument, /compressed/],
      ["gzip", framed(new Uint8Array(0)), { "grpc-encoding": "gzip" }, Code.Unimplemented, /gzip/],
      [
        "a bad deadline",
        framed(new Uint8Array(0)),
        { "grpc-timeout": "soon" },
        Code.InvalidArgument,
        /grpc-timeout/,
      ],
    ];
    for (const [what, body, headers, code, message] of cases) {
      const answer = await rawCall(server, PULL, body, headers);
      expect({ what, ...answer }).toMatchObject({
        what,
        status: String(code),
        message: expect.stringMatching(message),
      });
    }
    expect(
      await rawCall(server, "/flwr.proto.Fleet/Nope", framed(new Uint8Array(0))),
    ).toMatchObject({
      status: String(Code.Unimplemented),
    });
    // Not HTTP/2 at all: the connection ends, the server stays.
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    socket.resume(); // read what the server says, so its end is seen
    socket.end("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((resolve) => socket.once("close", resolve));
    expect((await client.unary(Fleet.method.pullObject, {})).objectFound).toBe(false);
  });

  it("aborts a handler's signal when its deadline passes or its caller cancels", async () => {
    const aborted: unknown[] = [];
    let started = 0;
    const { server, client } = await serve({
      pullMessages: (_request, context) =>
        new Promise<never>((_resolve, reject) => {
          started++;
          context.signal.addEventListener("abort", () => {
            aborted.push(context.signal.reason);
            reject(context.signal.reason);
          });
        }),
    });
    const PULL_MESSAGES = "/flwr.proto.Fleet/PullMessages";
    const expired = await rawCall(server, PULL_MESSAGES, framed(new Uint8Array(0)), {
      "grpc-timeout": "100m",
    });
    expect(expired).toMatchObject({ status: String(Code.DeadlineExceeded) });
    const cancel = new AbortController();
    const call = client.unary(Fleet.method.pullMessages, {}, { signal: cancel.signal });
    await expect.poll(() => started).toBe(2);
    cancel.abort();
    await expect(call).rejects.toMatchObject({ code: Code.Canceled });
    await expect.poll(() => aborted.length).toBe(2);
    expect(aborted.map((reason) => FedbridgeError.from(reason).code)).toEqual([
      Code.DeadlineExceeded,
      Code.Canceled,
    ]);
  });

  it("says which address it cannot listen on, and why", async () => {
    const { server } = await serve({});
    await expect(
      startGrpcHttp2Server(`127.0.0.1:${server.port}`, new Map(), {
        name: "the test API",
        maxRequestBytes: 1,
      }),
    ).rejects.toMatchObject({
      code: Code.Unavailable,
      message: expect.stringMatching(
        new RegExp(`^cannot listen for the test API on 127.0.0.1:${server.port}: .*EADDRINUSE`),
      ),
    });
    await expect(
      startGrpcHttp2Server("no port", new Map(), { name: "the test API", maxRequestBytes: 1 }),
    ).rejects.toMatchObject({
      code: Code.InvalidArgument,
      message: "cannot listen for the test API on no port: not an address (HOST:PORT)",
    });
  });
});
