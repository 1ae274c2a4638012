/**
 * The gRPC transport a site dials the server with: HTTP/2 over mTLS, one connection per
 * transport, closed for sure by `close()`. Node's HTTP/2 starts every stream and connection
 * with a 64 KiB receive window, which caps a stream at 64 KiB per round trip (about 1 MB/s
 * at a 50 ms WAN distance); the cells do their own flow control with credits, so the HTTP/2
 * windows are opened wide enough never to be the narrower limit, and DATA frames may be as
 * large as a chunk. Compression is off: chunks are mostly model weights, which gzip hardly
 * shrinks at a CPU cost higher than the time it saves.
 */
import type { Transport } from "@connectrpc/connect";
import {
  createGrpcTransport,
  type GrpcTransportOptions,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { HTTP2_WINDOW_BYTES, MAX_FRAME_BYTES } from "./cell-options.ts";

export interface SiteTransport {
  transport: Transport;
  /** Closes the connection and every stream on it. */
  close(): void;
}

export function createSiteTransport(
  url: string,
  tls: { ca: string; cert: string; key: string },
): SiteTransport {
  const manager = new Http2SessionManager(
    url,
    {},
    { ...tls, settings: { initialWindowSize: HTTP2_WINDOW_BYTES, maxFrameSize: 2 ** 20 } },
  );
  const sessionManager: NonNullable<GrpcTransportOptions["sessionManager"]> = {
    authority: manager.authority,
    async request(method, path, headers, options) {
      const stream = await manager.request(method, path, headers, options);
      stream.session?.setLocalWindowSize(HTTP2_WINDOW_BYTES);
      return stream;
    },
    notifyResponseByteRead: (stream) => manager.notifyResponseByteRead(stream),
  };
  return {
    transport: createGrpcTransport({
      baseUrl: url,
      sessionManager,
      readMaxBytes: MAX_FRAME_BYTES,
      // Model weights hardly compress, and gzip costs more CPU than the link saves.
      acceptCompression: [],
    }),
    close: () => manager.abort(),
  };
}
