/**
 * Hand-made RPC requests over node:http2, for probing servers with bodies no client library
 * would send: no message at all, garbage, a length prefix that promises more than follows, or
 * hundreds of megabytes written from one reused buffer (never allocated whole).
 */
import * as http2 from "node:http2";
import { grpcPrefix } from "../src/core/wire/grpc-messages.ts";

/** A request body: pieces written in order, with backpressure, until done or refused. */
export interface RawBody {
  /** The bytes to send, e.g. `grpcFrame(bytes)` or `filler(300 MiB)`. */
  pieces: Iterable<Uint8Array>;
  /** Keep sending after the answer, as a hostile caller would, until the server resets. */
  ignoreAnswer?: boolean;
}

/** What came back: the HTTP status, the RPC status from trailers (or headers), the body size. */
export interface RawReply {
  httpStatus: number;
  /** `grpc-status` as a number; undefined when none was sent. */
  grpcStatus: number | undefined;
  grpcMessage: string;
  contentType: string;
  body: Buffer;
  /** Bytes of the request body the server took before it answered or reset. */
  sent: number;
}

/** A gRPC length prefix (uncompressed) for a message of `length` bytes: the one the wire code writes. */
export { grpcPrefix };

/** One whole gRPC message: its prefix, then its bytes. */
export function* grpcFrame(message: Uint8Array): Iterable<Uint8Array> {
  yield grpcPrefix(message.byteLength);
  yield message;
}

/** `total` bytes of `fill`, as views of one buffer of at most 1 MiB. */
export function* filler(total: number, fill = 0x41): Iterable<Uint8Array> {
  const piece = new Uint8Array(Math.min(total, 2 ** 20)).fill(fill);
  for (let left = total; left > 0; left -= piece.byteLength)
    yield left >= piece.byteLength ? piece : piece.subarray(0, left);
}

/** Sends one request on `session` and waits for its whole answer. */
export function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  body: RawBody,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    const reply: RawReply = {
      httpStatus: 0,
      grpcStatus: undefined,
      grpcMessage: "",
      contentType: "",
      body: Buffer.alloc(0),
      sent: 0,
    };
    const chunks: Buffer[] = [];
    const readStatus = (fields: http2.IncomingHttpHeaders) => {
      if (fields["grpc-status"] !== undefined) reply.grpcStatus = Number(fields["grpc-status"]);
      if (fields["grpc-message"] !== undefined)
        reply.grpcMessage = decodeURIComponent(String(fields["grpc-message"]));
    };
    stream.on("response", (fields) => {
      reply.httpStatus = Number(fields[":status"]);
      reply.contentType = String(fields["content-type"] ?? "");
      readStatus(fields);
    });
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    const answered = () =>
      reply.grpcStatus !== undefined ||
      (reply.httpStatus !== 0 && !reply.contentType.startsWith("application/grpc"));
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      reply.body = Buffer.concat(chunks);
      if (reply.httpStatus === 0) reject(new Error(`${path}: no response (stream closed)`));
      else resolve(reply);
    };
    stream.on("close", finish);
    stream.on("error", () => {}); // a reset after the answer: the answer is what counts
    void (async () => {
      for (const piece of body.pieces) {
        // Stop once the server has answered (a status, or a non-gRPC reply) or reset.
        if (stream.destroyed || stream.closed || (answered() && !body.ignoreAnswer)) break;
        reply.sent += piece.byteLength;
        if (!stream.write(piece))
          await new Promise<void>((ok) => {
            const done = () => {
              for (const event of ["drain", "close", "response", "trailers"])
                stream.off(event, done);
              ok();
            };
            for (const event of ["drain", "close", "response", "trailers"]) stream.on(event, done);
          });
      }
      if (!stream.destroyed) stream.end();
    })();
  });
}

/** Opens an HTTP/2 session (plaintext or TLS) and resolves once it is connected. */
export function openSession(
  authority: string,
  options: http2.SecureClientSessionOptions = {},
): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority, options);
    session.once("connect", () => {
      session.off("error", reject);
      session.on("error", () => {});
      resolve(session);
    });
    session.once("error", reject);
  });
}
