// The Fleet API's node-auth metadata names and timestamp format, apart from node-auth.ts
// (node:crypto) so that the browser build can sign with WebCrypto (src/browser/node-keys.ts).

/** The node's PEM SubjectPublicKeyInfo bytes; the SuperLink matches them byte for byte. */
export const PUBLIC_KEY_HEADER = "flwr-public-key-bin";
/** Python's `datetime.now(timezone.utc).isoformat()`, e.g. `2025-06-15T12:34:56.123456+00:00`. */
export const TIMESTAMP_HEADER = "flwr-timestamp";
/** DER ECDSA-SHA256 over the ASCII bytes of the timestamp alone (not the request). */
export const SIGNATURE_HEADER = "flwr-signature-bin";

/**
 * `date` as Python's `datetime.isoformat()` writes an aware UTC datetime: microseconds and a
 * `+00:00` offset, the fraction left out when it is zero. JS's `Z` suffix is not an option:
 * Python 3.10's `fromisoformat`, which the SuperLink may run on, rejects it.
 */
export function pythonIsoTimestamp(date: Date = new Date()): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ms = iso.slice(20, 23);
  return `${iso.slice(0, 19)}${ms === "000" ? "" : `.${ms}000`}+00:00`;
}

/**
 * How long a node reuses one signed timestamp, in ms. The SuperLink accepts a timestamp for
 * 300 s (Flower's TIMESTAMP_TOLERANCE, no nonce), so reuse widens no replay window; at one
 * signature a minute an idle node costs the SuperLink one ECDSA verification a minute instead
 * of one per call (heartbeats, held pulls), which at 1,000 nodes was most of its CPU.
 */
export const SIGNATURE_REUSE_MS = 60_000;
