import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type ConnectRouter, decodeBinaryHeader, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Metadata } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { toConnectError } from "../../core/wire/connect-errors.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import type { FleetHandlers } from "./fleet-servicer.ts";
import { INLINE_HEADER } from "./fleet-servicer.ts";
import { PUBLIC_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./node-auth-headers.ts";
import { FLEET_MAX_REQUEST_BYTES } from "./request-limits.ts";

export interface FleetWebOptions {
  /** host:port to listen on, e.g. 0.0.0.0:9095. */
  address: string;
  /**
   * The page origins allowed to call, e.g. `http://127.0.0.1:8080`, compared exactly with the
   * browser's Origin header. A request from any other origin is refused (403) before it is read.
   */
  origins: readonly string[];
  /** TLS certificate and key (PEM); without them, plain HTTP. */
  tls?: { certChain: Buffer; privateKey: Buffer };
}

export interface FleetWeb {
  port: number;
  close(): Promise<void>;
}

/** Request headers a page may send: Connect's own and the Fleet API's signed metadata. */
const ALLOWED_HEADERS = [
  "content-type",
  "connect-protocol-version",
  "connect-timeout-ms",
  "x-grpc-web",
  "x-user-agent",
  PUBLIC_KEY_HEADER,
  TIMESTAMP_HEADER,
  SIGNATURE_HEADER,
  INLINE_HEADER,
].join(", ");

/**
 * The Fleet API for browsers: the same handlers as the gRPC service (same node auth, same
 * router), spoken as the Connect protocol (and gRPC-web) over HTTP/1.1, which `fetch` can
 * call. CORS admits only the configured origins; a request that names another origin is
 * refused before its body is read. Requests without an Origin (not from a page) pass, as they
 * would on the gRPC port.
 */
export async function startFleetWeb(
  handlers: FleetHandlers,
  options: FleetWebOptions,
): Promise<FleetWeb> {
  if (options.origins.length === 0) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      "the Fleet API for browsers needs at least one allowed page origin (--web-origin)",
    );
  }
  const origins = new Set(options.origins.map(checkOrigin));
  const adapter = connectNodeAdapter({
    routes: (router: ConnectRouter) => router.service(Fleet, connectImpl(handlers)),
    readMaxBytes: FLEET_MAX_REQUEST_BYTES,
    binaryOptions: { readUnknownFields: false },
  });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) {
        res.writeHead(403, { "content-type": "text/plain; charset=utf-8", vary: "Origin" });
        res.end(`origin ${origin} is not allowed to call this Fleet API`);
        req.resume();
        return;
      }
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "Origin");
      res.setHeader("access-control-expose-headers", "grpc-status, grpc-message");
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": ALLOWED_HEADERS,
          "access-control-max-age": "600",
        });
        res.end();
        return;
      }
    }
    adapter(req, res);
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.certChain, key: options.tls.privateKey }, handle)
    : createHttpServer(handle);
  // A long-polled PullMessages stays open up to the SuperLink's pull wait; keep-alive lets a
  // page reuse its few connections.
  server.keepAliveTimeout = 65_000;
  const { host, port } = splitAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new FedbridgeError(
          Code.Unavailable,
          `cannot listen for the Fleet API for browsers on ${options.address}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The handlers as a Connect service: headers become the metadata the handlers read. */
function connectImpl(handlers: FleetHandlers) {
  const impl: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    impl[name] = async (request: never, context: HandlerContext) => {
      try {
        const metadata = metadataOf(context.requestHeader);
        return await (handler as (r: never, c: object) => unknown)(request, {
          metadata,
          signal: context.signal,
        });
      } catch (error) {
        throw toConnectError(error);
      }
    };
  }
  return impl;
}

/** HTTP headers as gRPC metadata: `-bin` values are base64 on HTTP/1.1 and bytes in gRPC. */
function metadataOf(headers: Headers): Metadata {
  const metadata = new Metadata();
  for (const key of [PUBLIC_KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, INLINE_HEADER]) {
    const value = headers.get(key);
    if (value === null) continue;
    if (!key.endsWith("-bin")) metadata.set(key, value);
    else {
      try {
        metadata.set(key, Buffer.from(decodeBinaryHeader(value)));
      } catch {
        throw new FedbridgeError(Code.Unauthenticated, `header ${key} is not valid base64`);
      }
    }
  }
  return metadata;
}

function checkOrigin(origin: string): string {
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {}
  if (url === undefined || url.origin !== origin) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `--web-origin ${JSON.stringify(origin)} is not an origin such as http://127.0.0.1:8080 (scheme, host and port, no path or slash)`,
    );
  }
  return origin;
}

function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!match) {
    throw new FedbridgeError(Code.InvalidArgument, `--web-address ${address} is not host:port`);
  }
  return { host: match[1] as string, port: Number(match[2]) };
}
