/**
 * fedbridge errors as Connect handlers (the admin API, the Fleet API for browsers) throw them.
 * fedbridge's codes are gRPC's, as are Connect's, so a code keeps its meaning and the message
 * travels unchanged.
 */
import { type Code as ConnectCode, ConnectError } from "@connectrpc/connect";
import { FedbridgeError } from "../fedbridge-error.ts";

/** What a Connect handler throws: the same code and message. */
export function toConnectError(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  const error = FedbridgeError.from(reason);
  return new ConnectError(
    error.message,
    error.code as number as ConnectCode,
    undefined,
    undefined,
    error,
  );
}
