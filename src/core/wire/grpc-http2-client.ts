/**
 * A gRPC client for unary calls on node:http2, for the API that carries models (a SuperNode's
 * Fleet calls). Written by hand rather than through grpc-js for the reason the server is
 * (grpc-http2-server.ts): grpc-js copies every request into a new buffer to frame it and
 * gathers every response through a list. Here a request goes out behind its 5-byte prefix as
 * it is, and a response is gathered once, or read where it lies when it came in one piece.
 */
import { createHash } from "node:crypto";
import * as http2 from "node:http2";
import { Code, FedbridgeError } from "../fedbridge-error.ts";
import { GrpcMessageReader, grpcPrefix, type MessageLead } from "./grpc-messages.ts";
import { HTTP2_WINDOW_BYTES, widenReceiveWindow } from "./http2-window.ts";

/** How a client reaches its server: plaintext, or TLS trusting these root certificates (PEM). */
export type ChannelSecurity = "insecure" | { rootCertificates: Buffer };

/** Largest response accepted: gRPC's (and Flower's) 2 GiB − 1. */
const MAX_RESPONSE_BYTES = 2_147_483_647;
/** The longest deadline gRPC's header can say (8 digits of ms). */
const MAX_TIMEOUT_MS = 99_999_999;

export interface UnaryCallSettings {
  /** Headers to send (the call's metadata). */
  headers?: http2.OutgoingHttpHeaders;
  /** Seconds before the call fails with DEADLINE_EXCEEDED. Default: none. */
  timeout?: number;
  /** Cancels the call (it then fails with CANCELLED). */
  signal?: AbortSignal;
  /** Where the response starts in the buffer gathered for it (GrpcMessageReader). */
  responseLead?: MessageLead;
}

/** One HTTP/2 connection, shared by the channels of a process that dial the same server. */
interface Connection {
  session: http2.ClientHttp2Session;
  /** Why it failed, once it has. */
  failure?: Error;
  users: number;
}

const shared = new Map<string, Connection>();

/**
 * Unary calls to one server. Channels of a process to the same address and security share one
 * connection (as grpc-js's do) unless `ownConnection`; a connection that breaks is dialled
 * again by the next call.
 */
export class GrpcHttp2Channel {
  readonly #authority: string;
  readonly #security: ChannelSecurity;
  readonly #key: string | undefined;
  #connection: Connection | undefined;
  #closed = false;

  /** `address`: `host:port`. */
  constructor(
    address: string,
    security: ChannelSecurity,
    options: { ownConnection?: boolean } = {},
  ) {
    const tls = security !== "insecure";
    this.#authority = `${tls ? "https" : "http"}://${address}`;
    this.#security = security;
    this.#key = options.ownConnection
      ? undefined
      : `${this.#authority} ${tls ? createHash("sha256").update(security.rootCertificates).digest("hex") : ""}`;
  }

  /**
   * Calls `path` (`/package.Service/Method`) with a request's encoded message, whole or in
   * pieces that are written one after the other as they are.
   */
  unary(
    path: string,
    request: Uint8Array | readonly Uint8Array[],
    settings: UnaryCallSettings = {},
  ): Promise<Uint8Array> {
    const method = path.slice(path.lastIndexOf("/") + 1);
    if (this.#closed)
      return Promise.reject(new FedbridgeError(Code.Canceled, `${method}: the channel is closed`));
    if (settings.signal?.aborted)
      return Promise.reject(new FedbridgeError(Code.Canceled, `${method}: cancelled`));
    const connection = this.#connect();
    const timeoutMs =
      settings.timeout === undefined
        ? undefined
        : Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(settings.timeout * 1000)));
    let stream: http2.ClientHttp2Stream;
    try {
      stream = connection.session.request({
        ...settings.headers,
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...(timeoutMs === undefined ? {} : { "grpc-timeout": `${timeoutMs}m` }),
      });
    } catch (error) {
      this.#drop(connection);
      return Promise.reject(unavailable(method, this.#authority, error as Error));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const reader = new GrpcMessageReader(
        MAX_RESPONSE_BYTES,
        "response message",
        settings.responseLead,
      );
      let message: Uint8Array | undefined;
      let httpStatus = 0;
      let status: number | undefined;
      let statusMessage = "";
      let local: FedbridgeError | undefined;
      const stop = (failure: FedbridgeError) => {
        local ??= failure;
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(
              () => stop(new FedbridgeError(Code.DeadlineExceeded, `${method}: deadline exceeded`)),
              timeoutMs,
            );
      const cancel = () => stop(new FedbridgeError(Code.Canceled, `${method}: cancelled`));
      settings.signal?.addEventListener("abort", cancel, { once: true });
      const readStatus = (fields: http2.IncomingHttpHeaders) => {
        if (fields["grpc-status"] === undefined) return;
        status = Number(fields["grpc-status"]);
        statusMessage = percentDecoded(String(fields["grpc-message"] ?? ""));
      };
      stream.on("response", (fields) => {
        httpStatus = Number(fields[":status"]);
        readStatus(fields);
      });
      stream.on("trailers", readStatus);
      stream.on("data", (piece: Buffer) => {
        try {
          for (const received of reader.push(piece)) {
            if (message !== undefined)
              throw new FedbridgeError(Code.Internal, "the response carries more than one message");
            message = received;
          }
        } catch (error) {
          const failure = FedbridgeError.from(error);
          stop(new FedbridgeError(failure.code, `${method}: ${failure.message}`));
        }
      });
      let streamError: Error | undefined;
      stream.on("error", (error) => {
        streamError = error; // its end is read in "close"
      });
      stream.once("close", () => {
        clearTimeout(timer);
        settings.signal?.removeEventListener("abort", cancel);
        if (local !== undefined) return reject(local);
        if (status === undefined) {
          if (httpStatus === 0) {
            this.#drop(connection);
            const why =
              connection.failure ??
              streamError ??
              new Error(`the call was reset (${stream.rstCode})`);
            return reject(unavailable(method, this.#authority, why));
          }
          return reject(
            new FedbridgeError(
              codeOfHttpStatus(httpStatus),
              `${method}: the server answered HTTP ${httpStatus} without a gRPC status`,
            ),
          );
        }
        if (status !== 0) {
          const code = status in Code ? (status as Code) : Code.Unknown;
          return reject(new FedbridgeError(code, `${method}: ${statusMessage}`));
        }
        if (message === undefined || !reader.atBoundary)
          return reject(
            new FedbridgeError(Code.Internal, `${method}: the response carries no message`),
          );
        resolve(message);
      });
      const pieces = request instanceof Uint8Array ? [request] : request;
      let length = 0;
      for (const piece of pieces) length += piece.byteLength;
      stream.write(grpcPrefix(length));
      for (const piece of pieces) stream.write(piece);
      stream.end();
    });
  }

  /** Ends this channel; its connection closes once no channel uses it. */
  close(): void {
    this.#closed = true;
    const connection = this.#connection;
    if (connection === undefined) return;
    this.#release(connection);
    if (connection.users === 0) this.#drop(connection);
  }

  /** This channel's live connection: its own, a shared one, or a new one. */
  #connect(): Connection {
    const current = this.#connection;
    if (current !== undefined && !current.session.closed && !current.session.destroyed)
      return current;
    if (current !== undefined) this.#release(current);
    let connection = this.#key === undefined ? undefined : shared.get(this.#key);
    if (connection === undefined || connection.session.closed || connection.session.destroyed) {
      connection = this.#dial();
      if (this.#key !== undefined) shared.set(this.#key, connection);
    }
    connection.users++;
    this.#connection = connection;
    return connection;
  }

  #dial(): Connection {
    const session = http2.connect(this.#authority, {
      settings: { initialWindowSize: HTTP2_WINDOW_BYTES },
      // Node counts the data queued to go out against this bound (10 MB by default) and refuses
      // new calls past it; a few objects being pushed are more.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      ...(this.#security === "insecure" ? {} : { ca: this.#security.rootCertificates }),
    });
    const connection: Connection = { session, users: 0 };
    session.once("connect", () => widenReceiveWindow(session));
    session.on("error", (error) => {
      connection.failure = error;
    });
    // A server that goes away: calls already answered are done, the next call dials again.
    session.once("goaway", () => this.#drop(connection));
    session.once("close", () => this.#drop(connection));
    return connection;
  }

  /** Forgets a broken connection, so that the next call dials a new one. */
  #drop(connection: Connection): void {
    if (this.#key !== undefined && shared.get(this.#key) === connection) shared.delete(this.#key);
    if (!connection.session.destroyed) connection.session.close();
  }

  #release(connection: Connection): void {
    connection.users--;
    this.#connection = undefined;
  }
}

function unavailable(method: string, authority: string, cause: Error): FedbridgeError {
  return new FedbridgeError(
    Code.Unavailable,
    `${method}: no connection to ${authority} (${cause.message})`,
    { cause },
  );
}

/** gRPC's mapping of an HTTP status without a gRPC one. */
function codeOfHttpStatus(httpStatus: number): Code {
  switch (httpStatus) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

function percentDecoded(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message; // not percent-encoded after all: shown as it came
  }
}
