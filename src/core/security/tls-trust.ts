/**
 * Node's codes for a peer certificate that does not chain to the CA we trust: a kit of another
 * project, or of the same project provisioned again (a new CA under the same name).
 */
const UNTRUSTED_PEER = new Set([
  "CERT_SIGNATURE_FAILURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
]);

/** OpenSSL alerts the peer sends when it does not trust our certificate. */
const REFUSED_BY_PEER = new Set([
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN",
  "ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR",
]);

/**
 * Why a TLS connection failed on trust, found in an error or its causes (Node puts the code on
 * the socket's error, which clients wrap): `untrusted-peer` when the peer's certificate is not
 * signed by our CA, `refused-by-peer` when the peer does not accept ours, else undefined.
 */
export function tlsTrustFailure(error: unknown): "untrusted-peer" | "refused-by-peer" | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (UNTRUSTED_PEER.has(code)) return "untrusted-peer";
    if (REFUSED_BY_PEER.has(code)) return "refused-by-peer";
  }
  return undefined;
}
