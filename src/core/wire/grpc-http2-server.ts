/**
 * A gRPC server for unary methods on node:http2, for the API that carries models (Fleet).
 * Written by hand rather than served by grpc-js because grpc-js copies every response into a
 * new buffer to frame it, and gathers every request from its pieces through a list: here a
 * response goes out behind its 5 bytes of prefix as it is, or as the pieces it was given (a
 * model's object: its header, then the array's own bytes, never copied), and a request is
 * gathered once into a buffer of its own size, or read where it lies when it came in one piece.
 *
 * It speaks gRPC over HTTP/2 as grpc-js and Python's grpcio expect (the Fleet transcript tests
 * replay a real Flower's calls against it). Whatever a request does wrong, it gets a gRPC status
 * naming the method, and the server goes on: a request past `maxRequestBytes` is refused from
 * its prefix, before its bytes are held.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../fedbridge-error.ts";
import { GrpcMessageReader, grpcPrefix, type MessageLead } from "./grpc-messages.ts";
import type { EncodedResponse, RawUnaryHandler } from "./grpc-service.ts";
import { grpcTimeoutMs } from "./grpc-timeout.ts";
import { HTTP2_WINDOW_BYTES, widenReceiveWindow } from "./http2-window.ts";

export interface GrpcHttp2ServerOptions {
  /** What it serves, for its errors: "the Fleet API". */
  name: string;
  /** Largest request message, in bytes: RESOURCE_EXHAUSTED past it. */
  maxRequestBytes: number;
  /** TLS certificate chain and key (PEM); without them, plaintext HTTP/2. */
  tls?: { certChain: Buffer; privateKey: Buffer };
  /**
   * Where a request gathered from pieces starts in its buffer (GrpcMessageReader): an API whose
   * requests carry arrays places them so that the arrays' values land aligned. Default: at 0.
   */
  requestLead?: MessageLead;
}

export interface GrpcHttp2Server {
  readonly port: number;
  /** Stops listening and ends every connection (calls in flight fail). */
  close(): Promise<void>;
}

/**
 * Serves `routes` (method path → handler, `/package.Service/Method`) on `address`
 * (`host:port`, `[v6]:port`; port 0 picks a free one).
 *
 * @example
 * const fleet = await startGrpcHttp2Server("127.0.0.1:9092", unaryRoutes(Fleet, handlers), {
 *   name: "the Fleet API",
 *   maxRequestBytes: FLEET_MAX_REQUEST_BYTES,
 * });
 */
export async function startGrpcHttp2Server(
  address: string,
  routes: ReadonlyMap<string, RawUnaryHandler>,
  options: GrpcHttp2ServerOptions,
): Promise<GrpcHttp2Server> {
  const cannotListen = (why: string, code = Code.Unavailable) =>
    new FedbridgeError(code, `cannot listen for ${options.name} on ${address}: ${why}`);
  const { host, port } = parseAddress(address, cannotListen);
  const settings: http2.Settings = {
    maxConcurrentStreams: 1000,
    initialWindowSize: HTTP2_WINDOW_BYTES,
  };
  // Node counts the data queued to go out against a session's memory bound (10 MB by default)
  // and refuses new calls past it; one model's response is more. What a caller can make the
  // server hold is bounded by the receive window and `maxRequestBytes` (grpc-js does the same).
  const common = { settings, maxSessionMemory: Number.MAX_SAFE_INTEGER };
  const server = options.tls
    ? http2.createSecureServer({
        ...common,
        cert: options.tls.certChain,
        key: options.tls.privateKey,
      })
    : http2.createServer(common);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    session.on("error", () => {}); // a peer gone mid-write: its calls end, the server goes on
    widenReceiveWindow(session);
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => serveCall(stream, headers, routes, options));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(cannotListen(error.message)));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

/** One call: its request gathered, its handler run, its response or status sent. */
function serveCall(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  routes: ReadonlyMap<string, RawUnaryHandler>,
  options: GrpcHttp2ServerOptions,
): void {
  stream.on("error", () => {}); // a reset by the caller: the call is over
  const call = new Answer(stream);
  const path = String(headers[":path"] ?? "");
  const method = path.slice(path.lastIndexOf("/") + 1);
  const handler = routes.get(path);
  let timeoutMs: number | undefined;
  try {
    checkCall(headers, path, handler !== undefined);
    timeoutMs = grpcTimeoutMs(headers["grpc-timeout"]);
  } catch (error) {
    const refusal = FedbridgeError.from(error);
    call.fail(new FedbridgeError(refusal.code, `${method}: ${refusal.message}`));
    return;
  }
  const reader = new GrpcMessageReader(
    options.maxRequestBytes,
    "request message",
    options.requestLead,
  );
  let request: Uint8Array | undefined;
  stream.on("data", (piece: Buffer) => {
    if (call.answered) return;
    try {
      for (const message of reader.push(piece)) {
        if (request !== undefined)
          throw new FedbridgeError(
            Code.InvalidArgument,
            "the request carries more than one message",
          );
        request = message;
      }
    } catch (error) {
      const refusal = FedbridgeError.from(error);
      call.fail(new FedbridgeError(refusal.code, `${method}: ${refusal.message}`));
    }
  });
  stream.on("end", () => {
    if (call.answered || handler === undefined) return;
    if (request === undefined || !reader.atBoundary) {
      const incomplete = "the request carries no complete message";
      call.fail(new FedbridgeError(Code.InvalidArgument, `${method}: ${incomplete}`));
      return;
    }
    const metadata = Metadata.fromHttp2Headers(headers);
    handler(request, { metadata, signal: call.signal }).then(
      (response) => call.succeed(response),
      (error) => call.fail(FedbridgeError.from(error, Code.Internal)),
    );
  });
  if (timeoutMs !== undefined) call.expireAfter(timeoutMs, method);
}

/** Throws what makes a call unservable from its headers alone. */
function checkCall(headers: http2.IncomingHttpHeaders, path: string, known: boolean): void {
  const contentType = String(headers["content-type"] ?? "");
  if (headers[":method"] !== "POST" || !/^application\/grpc([+;]|$)/.test(contentType))
    throw new FedbridgeError(Code.InvalidArgument, `not a gRPC request (${contentType})`);
  if (!known) throw new FedbridgeError(Code.Unimplemented, `unknown method ${path}`);
  const encoding = String(headers["grpc-encoding"] ?? "identity");
  if (encoding !== "identity")
    throw new FedbridgeError(
      Code.Unimplemented,
      `messages compressed with ${encoding} are not accepted (send them uncompressed)`,
    );
}

/** A call's one answer: its response, or a status; whichever comes first, once. */
class Answer {
  readonly #stream: http2.ServerHttp2Stream;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  answered = false;

  constructor(stream: http2.ServerHttp2Stream) {
    this.#stream = stream;
    // Gone before it was answered: the caller cancelled, or its connection broke.
    stream.once("close", () => {
      if (!this.answered)
        this.#abort.abort(new FedbridgeError(Code.Canceled, "the caller went away"));
      this.#settle();
    });
  }

  /** Aborted when the caller goes away or the deadline passes. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  expireAfter(ms: number, method: string): void {
    this.#timer = setTimeout(() => {
      const expired = new FedbridgeError(Code.DeadlineExceeded, `${method}: deadline exceeded`);
      this.#abort.abort(expired);
      this.fail(expired);
    }, ms);
  }

  succeed(response: EncodedResponse): void {
    if (!this.#settle()) return;
    const stream = this.#stream;
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "identity" },
      { waitForTrailers: true },
    );
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    const pieces = response instanceof Uint8Array ? [response] : response;
    stream.write(grpcPrefix(pieces.reduce((length, piece) => length + piece.byteLength, 0)));
    for (const piece of pieces) stream.write(piece);
    stream.end();
  }

  /**
   * Answers with `error`'s status alone (trailers-only). What the caller still sends of a
   * refused request is read and dropped: a gRPC client stops once it has the status, and
   * resetting the stream instead raced the answer out (nghttp2 drops an answer still queued
   * behind a reset, and under load the caller saw its connection end with no status).
   */
  fail(error: FedbridgeError): void {
    if (!this.#settle()) return;
    const stream = this.#stream;
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": String(error.code),
        "grpc-message": percentEncoded(error.message),
      },
      { endStream: true },
    );
  }

  /** Marks the call answered; false if it already was, or can no longer be. */
  #settle(): boolean {
    clearTimeout(this.#timer);
    if (this.answered) return false;
    this.answered = true;
    return !this.#stream.closed && !this.#stream.destroyed && !this.#stream.headersSent;
  }
}

/**
 * A status message as gRPC carries it: UTF-8, with every byte outside printable ASCII, and
 * "%", percent-encoded. (Encoding more, as `encodeURIComponent` does, leaves "%3A" in the
 * message grpc-js shows: it decodes with `decodeURI`.)
 */
function percentEncoded(message: string): string {
  let encoded = "";
  for (const byte of Buffer.from(message, "utf8"))
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return encoded;
}

function parseAddress(
  address: string,
  cannotListen: (why: string, code: Code) => FedbridgeError,
): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (match === null || port > 65535)
    throw cannotListen("not an address (HOST:PORT)", Code.InvalidArgument);
  return { host: match[1] ?? match[2] ?? "", port };
}
