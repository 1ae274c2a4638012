import { deserialize, serialize } from "node:v8";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/**
 * Structured values (objects, arrays, numbers, strings, Uint8Arrays) to bytes and back, for
 * cell payloads between a server and its sites. V8's format keeps typed arrays as they are,
 * with no base64; both ends are fedbridge processes of one project, authenticated by mTLS.
 */
export function encodePayload(value: unknown): Uint8Array {
  return new Uint8Array(serialize(value));
}

export function decodePayload<T>(bytes: Uint8Array, what = "payload"): T {
  try {
    return deserialize(bytes) as T;
  } catch (cause) {
    throw new FedbridgeError(Code.InvalidArgument, `malformed ${what}`, { cause });
  }
}
