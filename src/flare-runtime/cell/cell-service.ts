/**
 * Serves `fedbridge.v1.CellService/Connect` on the server's port, beside the Connect services
 * (the admin API), as a plain HTTP/2 handler speaking gRPC's framing (see frame-codec.ts for
 * why not through Connect). Errors leave as gRPC statuses with fedbridge's code and message, so
 * a refused site reads why.
 */
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { TLSSocket } from "node:tls";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { MAX_FRAME_BYTES } from "./cell-options.ts";
import type { CellServer } from "./cell-server.ts";
import { CELL_PATH, GRPC_CONTENT_TYPE } from "./frame-codec.ts";
import { readFrames, writeFrames } from "./frame-stream.ts";
import { peerIdentityOf } from "./peer-identity.ts";

/** HTTP/2 handlers by path, for what a port serves outside Connect. */
export type StreamRoutes = Record<
  string,
  (request: Http2ServerRequest, response: Http2ServerResponse) => void
>;

/**
 * @example
 * createMtlsServer({ ..., streamRoutes: cellRoutes(cells), routes: registerAdmin });
 */
export function cellRoutes(cells: CellServer): StreamRoutes {
  return {
    // Whatever goes wrong with one stream (a peer gone before its headers) ends that stream only.
    [CELL_PATH]: (request, response) =>
      void serveCellStream(cells, request, response).catch(() => response.stream.destroy()),
  };
}

async function serveCellStream(
  cells: CellServer,
  request: Http2ServerRequest,
  response: Http2ServerResponse,
): Promise<void> {
  if (request.method !== "POST") return void response.writeHead(405).end();
  if (!String(request.headers["content-type"] ?? "").startsWith("application/grpc"))
    return void response.writeHead(415).end();
  response.writeHead(200, { "content-type": GRPC_CONTENT_TYPE });
  let status: FedbridgeError | undefined;
  try {
    const peer = peerIdentityOf(request.socket as unknown as TLSSocket);
    const { closed } = await writeFrames(
      response,
      cells.serve(readFrames(request, MAX_FRAME_BYTES, Code.InvalidArgument), peer),
    );
    if (closed) return;
  } catch (reason) {
    status = FedbridgeError.from(reason);
  }
  if (response.stream.destroyed) return;
  response.addTrailers({
    "grpc-status": String(status?.code ?? 0), // 0: OK
    ...(status ? { "grpc-message": encodeURIComponent(status.message) } : {}),
  });
  response.end();
}
