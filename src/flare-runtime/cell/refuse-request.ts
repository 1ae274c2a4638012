/**
 * Answers an RPC with an error before its body is read, in the protocol the request speaks
 * (gRPC, gRPC-web, or Connect's unary or streaming form, as Connect's own handlers would), then
 * resets the stream so the caller stops sending: what the request carried is never buffered
 * beyond what HTTP/2 already let through.
 */
import * as http2 from "node:http2";
import { type Code as ConnectCode, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamToJson,
  errorToJson,
} from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { FedbridgeError } from "../../core/fedbridge-error.ts";

/** Sends `error` as the request's whole answer and resets its stream. */
export function refuseRequest(
  request: http2.Http2ServerRequest,
  response: http2.Http2ServerResponse,
  error: FedbridgeError,
): void {
  const failure = new ConnectError(error.message, error.code as number as ConnectCode);
  const contentType = String(request.headers["content-type"] ?? "");
  const stream = response.stream;
  if (/^application\/grpc(-web)?([+;]|$)/.test(contentType)) {
    // Trailers-only: the status travels in the only HEADERS frame.
    const status = Object.fromEntries(setTrailerStatus(new Headers(), failure));
    stream.respond({ ":status": 200, "content-type": contentType, ...status }, { endStream: true });
  } else if (contentType.startsWith("application/connect+")) {
    const json = JSON.stringify(endStreamToJson(new Headers(), failure, undefined));
    stream.respond({ ":status": 200, "content-type": contentType });
    stream.end(encodeEnvelope(endStreamFlag, new TextEncoder().encode(json)));
  } else {
    stream.respond({
      ":status": codeToHttpStatus(failure.code),
      "content-type": "application/json",
    });
    stream.end(JSON.stringify(errorToJson(failure, undefined)));
  }
  // NO_ERROR after a complete answer: "stop sending". nghttp2 sends a reset ahead of frames
  // still queued, so it waits until the answer has gone out (sent when this turn's callbacks
  // are done); a caller that stopped already sees nothing more.
  setTimeout(() => {
    if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }, 20).unref();
}
