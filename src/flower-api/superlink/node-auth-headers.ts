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
