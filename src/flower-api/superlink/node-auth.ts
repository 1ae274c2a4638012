import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  PUBLIC_KEY_HEADER,
  pythonIsoTimestamp,
  SIGNATURE_HEADER,
  SIGNATURE_REUSE_MS,
  TIMESTAMP_HEADER,
} from "./node-auth-headers.ts";
import { VerifiedSignatures } from "./verified-signatures.ts";

export {
  PUBLIC_KEY_HEADER,
  pythonIsoTimestamp,
  SIGNATURE_HEADER,
  SIGNATURE_REUSE_MS,
  TIMESTAMP_HEADER,
} from "./node-auth-headers.ts";

/**
 * Flower 1.28's Fleet API node authentication: every SuperNode call carries three metadata
 * entries, and the SuperLink checks them on every call, even with `--insecure` and without
 * `--enable-supernode-auth` (flwr `node_auth_client_interceptor.py`,
 * `node_auth_server_interceptor.py`, `supercore/primitives/asymmetric.py`).
 */

/** Flower's `SYSTEM_TIME_TOLERANCE`: a node's clock may run at most this far ahead. */
const SYSTEM_TIME_TOLERANCE_S = 5;
/** Flower's `TIMESTAMP_TOLERANCE`: how old a signed timestamp may be (plus the above). */
const TIMESTAMP_TOLERANCE_S = 300;
/** The open interval a timestamp's age must fall in, Flower's MIN/MAX_TIMESTAMP_DIFF. */
const MIN_AGE_S = -SYSTEM_TIME_TOLERANCE_S;
const MAX_AGE_S = TIMESTAMP_TOLERANCE_S + SYSTEM_TIME_TOLERANCE_S;

/** The three entries, in the shapes gRPC wants: `-bin` values as bytes, the rest as text. */
export interface AuthMetadata {
  [PUBLIC_KEY_HEADER]: Buffer;
  [TIMESTAMP_HEADER]: string;
  [SIGNATURE_HEADER]: Buffer;
}

/** A node's identity: the key that signs, and the public key bytes sent in requests and headers. */
export interface NodeKeyPair {
  privateKey: KeyObject;
  publicKeyPem: Uint8Array;
}

/**
 * A fresh P-384 (secp384r1) key pair, as a self-registering Flower SuperNode makes at every
 * start (a key is never reused: the SuperLink refuses "Public key already in use"). Node's
 * PEM output is the same text as Python `cryptography` writes: 64-character base64 lines and
 * a trailing newline.
 */
export function createNodeKeyPair(): NodeKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return { privateKey, publicKeyPem: new TextEncoder().encode(pem) };
}

/** Signs `now` and returns the three metadata entries for one Fleet call. */
export function signAuthMetadata(
  privateKey: KeyObject,
  publicKeyPem: Uint8Array,
  now: Date = new Date(),
): AuthMetadata {
  const timestamp = pythonIsoTimestamp(now);
  return {
    [PUBLIC_KEY_HEADER]: Buffer.from(publicKeyPem),
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: sign("sha256", Buffer.from(timestamp, "ascii"), privateKey),
  };
}

/**
 * Signs for a stream of calls, reusing a signed timestamp for up to `reuseMs` (default
 * SIGNATURE_REUSE_MS, a minute).
 * The protocol allows it (the SuperLink accepts a timestamp for 300 s and has no nonce), and it
 * spares an ECDSA signature per call on the node and, with the SuperLink's cache, a
 * verification per call on the server: most of the cost of a small Fleet call.
 */
export function createAuthSigner(
  keys: NodeKeyPair,
  reuseMs = SIGNATURE_REUSE_MS,
): () => AuthMetadata {
  let current: AuthMetadata | undefined;
  let signedAt = 0;
  return () => {
    const now = Date.now();
    if (current === undefined || now - signedAt >= reuseMs) {
      current = signAuthMetadata(keys.privateKey, keys.publicKeyPem, new Date(now));
      signedAt = now;
    }
    return current;
  };
}

/** Anything with grpc-js `Metadata`'s `set`, so this file needs no gRPC dependency. */
export interface MetadataSink {
  set(key: string, value: string | Buffer): void;
}

/** Sets the three entries on `target`, e.g. a grpc-js `Metadata`; returns `target`. */
export function applyAuthMetadata<T extends MetadataSink>(target: T, metadata: AuthMetadata): T {
  target.set(PUBLIC_KEY_HEADER, metadata[PUBLIC_KEY_HEADER]);
  target.set(TIMESTAMP_HEADER, metadata[TIMESTAMP_HEADER]);
  target.set(SIGNATURE_HEADER, metadata[SIGNATURE_HEADER]);
  return target;
}

/**
 * The SuperLink's check, in Flower's order, each failure UNAUTHENTICATED with Flower's message:
 * all three entries present; the signature verifies under the sent key (any EC curve; a key
 * that does not load is an invalid signature, not a crash); the timestamp is fresh,
 * `-5 < now - ts < 305` seconds. Returns the key bytes as received, which the caller binds to
 * the request's node id ("Invalid node ID" is not decided here).
 */
export function verifyAuthMetadata(
  get: (key: string) => string | Buffer | undefined,
  now: Date = new Date(),
): { publicKeyPem: Uint8Array } {
  const publicKeyPem = get(PUBLIC_KEY_HEADER);
  const timestamp = get(TIMESTAMP_HEADER);
  const signature = get(SIGNATURE_HEADER);
  if (publicKeyPem === undefined || timestamp === undefined || signature === undefined) {
    throw unauthenticated("Missing authentication metadata");
  }
  const keyBytes = Buffer.from(publicKeyPem);
  const timestampBytes = Buffer.from(timestamp);
  if (!verifies(keyBytes, timestampBytes, Buffer.from(signature))) {
    throw unauthenticated("Invalid signature");
  }
  const age = (now.getTime() - parseIsoTimestamp(timestampBytes.toString("latin1"))) / 1000;
  if (!(MIN_AGE_S < age && age < MAX_AGE_S)) {
    throw unauthenticated("Invalid timestamp");
  }
  return { publicKeyPem: new Uint8Array(keyBytes) };
}

/** Signatures already verified, per node key (see VerifiedSignatures). */
const verified = new VerifiedSignatures();

function verifies(keyPem: Buffer, data: Buffer, signature: Buffer): boolean {
  const pem = keyPem.toString("latin1");
  const signed = `${data.toString("latin1")}\0${signature.toString("latin1")}`;
  const cached = verified.lookup(pem, signed);
  if (cached.known) return true;
  let key = cached.key;
  try {
    key ??= createPublicKey({ key: keyPem, format: "pem" });
    if (key.asymmetricKeyType !== "ec" || !verify("sha256", data, key, signature)) return false;
  } catch {
    return false;
  }
  verified.add(pem, key, signed);
  return true;
}

const ISO_TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds (fractional, keeping microseconds) of a Python ISO timestamp, or NaN,
 * which fails the freshness check. An offset is required: Flower subtracts the parsed value
 * from an aware `now`, which fails for a naive one. `Z` is accepted, as Python 3.11+ does.
 */
function parseIsoTimestamp(text: string): number {
  const m = ISO_TIMESTAMP.exec(text);
  if (!m) return Number.NaN;
  const [, date, time, fraction = "", sign, offsetHours = "0", offsetMinutes = "0"] = m;
  const whole = Date.parse(`${date}T${time}Z`);
  // Date.parse rolls over out-of-range fields (02-30, 24:00); Python rejects them.
  if (Number.isNaN(whole) || new Date(whole).toISOString().slice(0, 19) !== `${date}T${time}`) {
    return Number.NaN;
  }
  if (Number(offsetHours) >= 24 || Number(offsetMinutes) >= 60) return Number.NaN;
  const offsetMs =
    (sign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  return whole + Number(`0${fraction}`) * 1000 - offsetMs;
}

function unauthenticated(message: string): FedbridgeError {
  return new FedbridgeError(Code.Unauthenticated, message);
}
