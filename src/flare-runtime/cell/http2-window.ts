import type { Http2Session } from "node:http2";
import { HTTP2_WINDOW_BYTES } from "./cell-options.ts";

/**
 * Opens a session's connection-level receive window to HTTP2_WINDOW_BYTES. A session can be
 * destroyed between its handshake and this call (a peer gone, a connect timeout, hundreds of
 * handshakes at once): Node then throws from an event handler, which would end the process,
 * so a destroyed session is left alone.
 */
export function widenReceiveWindow(session: Http2Session): void {
  if (!session.destroyed) session.setLocalWindowSize(HTTP2_WINDOW_BYTES);
}
