/**
 * fedbridge errors across the Connect boundary, both ways. fedbridge's codes are gRPC's, as
 * are Connect's, so a code keeps its meaning and the message travels unchanged.
 */
import { type Code as ConnectCode, ConnectError } from "@connectrpc/connect";
import { type Code, FedbridgeError } from "../../core/fedbridge-error.ts";

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

/** What a Connect call's failure means to fedbridge: the same code and message. */
export function fromConnectError(reason: unknown): FedbridgeError {
  if (reason instanceof FedbridgeError) return reason;
  if (reason instanceof ConnectError)
    return new FedbridgeError(reason.code as number as Code, reason.rawMessage, { cause: reason });
  return FedbridgeError.from(reason);
}
