/**
 * Connect answers a request it cannot read as though the server were at fault: UNIMPLEMENTED
 * for a unary or server-streaming request with no message (or two), as though the method did not
 * exist, and INTERNAL for bytes that are not the request's protobuf message ("parse binary").
 * grpc-js did the same before its refusals were named (core/grpc-server-options.ts). Either way
 * the caller sent a malformed request: this says INVALID_ARGUMENT instead, in the gRPC trailers
 * Connect writes. (Connect's own protocol and gRPC-web carry the status in the body and keep
 * Connect's codes; every client of the admin API speaks gRPC.)
 */
import type { Http2ServerResponse, OutgoingHttpHeaders } from "node:http2";
import { Code } from "../../core/fedbridge-error.ts";

/** Connect's messages for a request it could not read, by the code it gives them. */
const MALFORMED: Partial<Record<Code, RegExp>> = {
  [Code.Unimplemented]: /^protocol error: (missing|received extra) input message/,
  [Code.Internal]: /^parse binary: /,
};

/** Makes `response`'s gRPC trailers say INVALID_ARGUMENT for a request Connect cannot read. */
export function reportMalformedAsInvalid(response: Http2ServerResponse): void {
  const addTrailers = response.addTrailers.bind(response);
  response.addTrailers = (trailers: OutgoingHttpHeaders) => {
    const pattern = MALFORMED[Number(trailers["grpc-status"]) as Code];
    const message = decodeURIComponent(String(trailers["grpc-message"] ?? ""));
    addTrailers(
      pattern?.test(message)
        ? { ...trailers, "grpc-status": String(Code.InvalidArgument) }
        : trailers,
    );
  };
}
