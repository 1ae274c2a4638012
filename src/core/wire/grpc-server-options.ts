/**
 * Options for a grpc-js server that faces untrusted callers: a receive limit sized to its
 * protocol (grpc-js reads the length prefix and refuses a bigger message before buffering it,
 * RESOURCE_EXHAUSTED "Received message larger than max (N vs LIMIT)"), and an interceptor that
 * turns grpc-js's other refusals of malformed requests into INVALID_ARGUMENT, so no bad input is
 * answered INTERNAL or UNIMPLEMENTED as though the server were at fault.
 */
import {
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerOptions,
  type StatusObject,
  status,
} from "@grpc/grpc-js";

/** What a server may send in one message: Flower's 2 GiB − 1 (responses are our own data). */
const MAX_SEND_BYTES = 2_147_483_647;

/**
 * Server options with `maxRequestBytes` as the receive limit; `extra` is merged in.
 *
 * @example
 * const fleet = new Server(boundedServerOptions(FLEET_MAX_REQUEST_BYTES));
 */
export function boundedServerOptions(
  maxRequestBytes: number,
  extra: ServerOptions = {},
): ServerOptions {
  return {
    ...extra,
    "grpc.max_receive_message_length": maxRequestBytes,
    "grpc.max_send_message_length": MAX_SEND_BYTES,
    interceptors: [...(extra.interceptors ?? []), namedRefusals],
  };
}

/**
 * Rewrites the statuses grpc-js sends through the call for a request it cannot take. (Those it
 * sends from below the interceptors, the size refusal among them, already have the right code.)
 */
const namedRefusals: ServerInterceptor = (method, call) => {
  const name = method.path.slice(method.path.lastIndexOf("/") + 1);
  return new ServerInterceptingCall(call, {
    sendStatus: (sent, next) => next(refusal(sent, name) ?? sent),
  });
};

/** A status as an interceptor's `sendStatus` gets it (grpc-js does not export the type). */
type SentStatus = Pick<StatusObject, "code" | "details">;

function refusal<S extends SentStatus>(sent: S, method: string): S | undefined {
  const say = (code: status, details: string) => ({
    ...sent,
    code,
    details: `${method}: ${details}`,
  });
  // An empty body, or one cut off inside its message: either way no message arrived.
  if (sent.code === status.UNIMPLEMENTED && sent.details.startsWith("Received no request message"))
    return say(status.INVALID_ARGUMENT, "the request carries no complete message");
  if (sent.code === status.UNIMPLEMENTED && sent.details.startsWith("Received a second request"))
    return say(status.INVALID_ARGUMENT, "the request carries more than one message");
  if (sent.code === status.INTERNAL && sent.details.startsWith("Invalid grpc-timeout"))
    return say(status.INVALID_ARGUMENT, sent.details);
  if (sent.code === status.INTERNAL && sent.details === "Failed to decompress message")
    return say(status.INVALID_ARGUMENT, "the request's compressed message does not decompress");
  return undefined;
}
