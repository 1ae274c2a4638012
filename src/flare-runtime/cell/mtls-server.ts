/**
 * The server's one port: an HTTP/2 server that demands a client certificate from the
 * project's root CA and carries the cell channel and Connect routes (the admin API, whatever
 * the parent adds). A peer whose certificate is from another CA or expired never gets past the
 * handshake; those refusals are logged here, since no handler ever sees them (a connection
 * closed before its handshake ended, a port probe, only at debug level). A Connect request is
 * admitted or refused from its path and its peer's certificate before any byte of its body
 * is read (`admit`), and its body is bounded (`readMaxBytes`).
 */
import * as http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { FedbridgeError } from "../../core/fedbridge-error.ts";
import { widenReceiveWindow } from "../../core/wire/http2-window.ts";
import type { CellLogger } from "./cell-logger.ts";
import { silentCellLogger } from "./cell-logger.ts";
import { HTTP2_WINDOW_BYTES } from "./cell-options.ts";
import type { StreamRoutes } from "./cell-service.ts";
import { reportMalformedAsInvalid } from "./malformed-requests.ts";
import { mtlsContextValues, type PeerIdentity, peerIdentityOf } from "./peer-identity.ts";
import { refuseRequest } from "./refuse-request.ts";

export interface MtlsServerOptions {
  /** PEM of the project's root CA: the only issuer whose client certificates are accepted. */
  ca: string;
  /** PEM of the server's certificate (its SANs name the host sites dial). */
  cert: string;
  /** PEM of the server's private key. */
  key: string;
  /** Registers every Connect service of the port (the admin API). */
  routes?: (router: ConnectRouter) => void;
  /** Paths served by a plain HTTP/2 handler instead of Connect: `cellRoutes(cells)`. */
  streamRoutes?: StreamRoutes;
  /**
   * Decides, from a Connect request's path and its peer's certificate alone, whether the request
   * goes on: it runs before any byte of the body is read (Connect reads and decodes a unary
   * request whole before its interceptors run). A FedbridgeError refuses the request, answered
   * at once in its protocol. Default: every request goes on.
   */
  admit?: (path: string, peer: PeerIdentity | undefined) => FedbridgeError | undefined;
  /** Largest Connect request message, in bytes (RESOURCE_EXHAUSTED past it). Default: 4 GiB. */
  readMaxBytes?: number;
  /** Told of every TLS refusal. Default: silent. */
  logger?: CellLogger;
}

/** A listening (or ready to listen) mTLS server. */
export interface MtlsServer {
  readonly server: http2.Http2SecureServer;
  /** Starts listening; resolves with the port (useful with port 0). Default host: all. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting and closes every open connection. */
  close(): Promise<void>;
}

/**
 * Creates the server; nothing listens until `listen`.
 *
 * @example
 * const cells = createCellServer({ name: kit.config.name, participants: kit.config.participants });
 * const server = createMtlsServer({
 *   ca: kit.rootCaPem, cert: kit.certPem, key: kit.keyPem,
 *   streamRoutes: cellRoutes(cells),
 *   routes: (router) => registerAdmin(router),
 * });
 * await server.listen(kit.config.port);
 */
export function createMtlsServer(options: MtlsServerOptions): MtlsServer {
  const logger = options.logger ?? silentCellLogger;
  const connect = connectNodeAdapter({
    routes: options.routes ?? (() => {}),
    contextValues: mtlsContextValues,
    // Requests come from the network: an unknown field is dropped, not kept.
    binaryOptions: { readUnknownFields: false },
    ...(options.readMaxBytes === undefined ? {} : { readMaxBytes: options.readMaxBytes }),
  });
  const admit = options.admit ?? (() => undefined);
  const streamRoutes = options.streamRoutes ?? {};
  const server = http2.createSecureServer(
    {
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      requestCert: true,
      rejectUnauthorized: true,
      allowHTTP1: false,
      settings: { initialWindowSize: HTTP2_WINDOW_BYTES, maxFrameSize: 2 ** 20 },
    },
    (request, response) => {
      // Once the answer is out (a refusal of a too-big body among them), a caller still
      // sending is told to stop. The compat layer sends the trailers on this event; the reset
      // waits a turn, until they are written, so it follows the whole answer.
      response.stream.once("wantTrailers", () => {
        if (!request.complete)
          setImmediate(() => response.stream.close(http2.constants.NGHTTP2_NO_ERROR));
      });
      const route = streamRoutes[request.url];
      if (route) return route(request, response);
      const peer = peerIdentityOf(request.socket as unknown as TLSSocket);
      const refusal = admit(request.url.split("?")[0] ?? "", peer);
      if (refusal) return refuseRequest(request, response, refusal);
      reportMalformedAsInvalid(response);
      connect(request, response);
    },
  );
  server.on("tlsClientError", (error: TlsError, socket: TLSSocket) => {
    const remote = socket.remoteAddress ? { remoteAddress: socket.remoteAddress } : {};
    // Node verifies the client certificate, records why it failed and drops the socket;
    // the error it then reports is only the hang-up, so the reason is read from the socket.
    const code = socket.authorizationError ? String(socket.authorizationError) : error.code;
    if (code === "ECONNRESET") {
      // Closed before the handshake ended: a port probe or a health check, not a refusal.
      logger({
        level: "debug",
        event: "cell.probe",
        message: "a connection closed before its TLS handshake ended",
        ...remote,
      });
      return;
    }
    logger({
      level: "warn",
      event: "cell.refused",
      stage: "tls",
      code: code ?? "TLS_ERROR",
      message: `TLS handshake refused: ${describeTlsRefusal(code, error.reason ?? error.message)}`,
      ...remote,
    });
  });
  // A session broken by garbage or a vanished peer ends that session only.
  server.on("sessionError", () => {});
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    widenReceiveWindow(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
  });
  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** What `tlsClientError` reports: OpenSSL's errors carry a short `reason`. */
type TlsError = NodeJS.ErrnoException & { reason?: string };

/** A sentence for why a TLS handshake was refused, for the codes refused peers most often get. */
function describeTlsRefusal(code: string | undefined, detail: string): string {
  switch (code) {
    case "CERT_HAS_EXPIRED":
      return "the client certificate has expired (CERT_HAS_EXPIRED)";
    case "CERT_NOT_YET_VALID":
      return "the client certificate is not valid yet (CERT_NOT_YET_VALID)";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return `the client certificate is not issued by this project's root CA (${code})`;
    case "CERT_SIGNATURE_FAILURE":
      // The issuer's name matched the project's CA (another project of the same name).
      return `the client certificate is not signed by this project's root CA: its issuer has the CA's name but not its key (${code})`;
    case "INVALID_PURPOSE":
      return `the client certificate is not meant for clients (${code})`;
    case "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE":
      return `the client presented no certificate (${code})`;
    case "ERR_SSL_HTTP_REQUEST":
    case "ERR_SSL_WRONG_VERSION_NUMBER":
      return `the client did not speak TLS (${code})`;
    default:
      return `the client certificate or handshake was refused (${code ?? "TLS_ERROR"}: ${detail.trim()})`;
  }
}
