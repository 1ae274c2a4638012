import type { Http2Session } from "node:http2";

/**
 * HTTP/2 receive window of a stream and of a connection, in bytes, for the connections that
 * carry models (cells, the Fleet API). Node's default, 64 KiB, would cap a stream at 64 KiB per
 * round trip; what bounds memory is each protocol's own credit or message limit.
 */
export const HTTP2_WINDOW_BYTES = 32 * 2 ** 20;

/**
 * Opens a session's connection-level receive window to HTTP2_WINDOW_BYTES. A session can be
 * destroyed between its handshake and this call (a peer gone, a connect timeout, hundreds of
 * handshakes at once): Node then throws from an event handler, which would end the process,
 * so a destroyed session is left alone.
 */
export function widenReceiveWindow(session: Http2Session): void {
  if (!session.destroyed) session.setLocalWindowSize(HTTP2_WINDOW_BYTES);
}
