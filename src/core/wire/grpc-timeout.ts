import { Code, FedbridgeError } from "../fedbridge-error.ts";

/** gRPC's units of a timeout, in ms. */
const UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * A call's `grpc-timeout` header (at most 8 digits and a unit, `10S`, `500m`) in ms; undefined
 * when the caller gave none. A malformed one is the caller's error, not "no deadline".
 */
export function grpcTimeoutMs(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(String(header));
  if (match === null)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `invalid grpc-timeout ${JSON.stringify(header)}`,
    );
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}
