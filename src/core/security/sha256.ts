import * as crypto from "node:crypto";

/** Node's one-shot hash (20.12+; absent before): a third of createHash's cost on small input. */
const oneShot = typeof crypto.hash === "function" ? crypto.hash : undefined;

/**
 * SHA-256 of the concatenation of `parts` (strings as UTF-8), synchronously. Node's OpenSSL
 * here; the browser build swaps in `sha256-js.ts` (same function, plain JS), since WebCrypto's
 * digest is async and object ids and seeds are derived in synchronous code.
 */
export function sha256(...parts: readonly (Uint8Array | string)[]): Uint8Array {
  const hash = crypto.createHash("sha256");
  for (const part of parts) hash.update(part);
  const digest = hash.digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}

/** Lowercase hex SHA-256 of the concatenation of `parts`. */
export function sha256Hex(...parts: readonly (Uint8Array | string)[]): string {
  const [only] = parts;
  if (parts.length === 1 && oneShot !== undefined && only instanceof Uint8Array)
    return oneShot("sha256", only);
  const hash = crypto.createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}
