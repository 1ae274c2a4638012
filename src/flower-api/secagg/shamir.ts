import { randomBytes } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/**
 * Shamir's secret sharing over the prime field of the Mersenne prime 2^521 − 1: a secret of
 * up to 64 bytes is one field element, the constant term of a random polynomial of degree
 * threshold − 1, and share i is the polynomial at x = i. Any `threshold` shares give the
 * secret back by Lagrange interpolation; fewer say nothing about it.
 *
 * A share is `index (u16) | threshold (u8) | secret length (u8) | y (66 bytes, big-endian)`,
 * so `combineShares` can refuse too few shares instead of returning a wrong secret.
 */

const P = (1n << 521n) - 1n;
const ELEMENT_BYTES = 66;
const HEADER_BYTES = 4;
/** The longest secret that fits one field element. */
export const MAX_SECRET_BYTES = 64;
const MAX_SHARES = 0xffff;

/** Splits `secret` into `count` shares, any `threshold` of which reconstruct it. */
export function createShares(secret: Uint8Array, threshold: number, count: number): Uint8Array[] {
  if (secret.length === 0 || secret.length > MAX_SECRET_BYTES) {
    throw invalid(`a secret must have 1 to ${MAX_SECRET_BYTES} bytes, got ${secret.length}`);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 255) {
    throw invalid(`the threshold must be an integer in [1, 255], got ${threshold}`);
  }
  if (!Number.isInteger(count) || count < threshold || count > MAX_SHARES) {
    throw invalid(`cannot make ${count} shares with threshold ${threshold}`);
  }
  const coefficients = [toBigInt(secret)];
  for (let i = 1; i < threshold; i++) coefficients.push(randomElement());
  return Array.from({ length: count }, (_, i) => {
    const x = BigInt(i + 1);
    let y = 0n;
    for (let c = coefficients.length - 1; c >= 0; c--)
      y = (y * x + (coefficients[c] as bigint)) % P;
    const share = new Uint8Array(HEADER_BYTES + ELEMENT_BYTES);
    new DataView(share.buffer).setUint16(0, i + 1);
    share[2] = threshold;
    share[3] = secret.length;
    share.set(toBytes(y, ELEMENT_BYTES), HEADER_BYTES);
    return share;
  });
}

/** Reconstructs a secret from at least `threshold` distinct shares of it. */
export function combineShares(shares: readonly Uint8Array[]): Uint8Array {
  const parsed = shares.map(parseShare);
  const first = parsed[0];
  if (first === undefined) throw invalid("no shares to combine");
  if (parsed.some((s) => s.threshold !== first.threshold || s.length !== first.length)) {
    throw invalid("the shares are not of one secret (their thresholds or lengths differ)");
  }
  if (new Set(parsed.map((s) => s.x)).size !== parsed.length) {
    throw invalid("two shares have the same index");
  }
  if (parsed.length < first.threshold) {
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `${parsed.length} shares cannot reconstruct a secret that needs ${first.threshold}`,
    );
  }
  const points = parsed.slice(0, first.threshold);
  let secret = 0n;
  for (const { x: xj, y: yj } of points) {
    let num = 1n;
    let den = 1n;
    for (const { x: xm } of points) {
      if (xm === xj) continue;
      num = (num * xm) % P;
      den = (den * (((xm - xj) % P) + P)) % P;
    }
    secret = (secret + yj * num * invert(den)) % P;
  }
  if (secret >= 1n << BigInt(8 * first.length)) {
    throw invalid("the shares do not reconstruct a secret of the stated length");
  }
  return toBytes(secret, first.length);
}

function parseShare(share: Uint8Array): {
  x: bigint;
  threshold: number;
  length: number;
  y: bigint;
} {
  if (share.length !== HEADER_BYTES + ELEMENT_BYTES)
    throw invalid(`a share has ${HEADER_BYTES + ELEMENT_BYTES} bytes, got ${share.length}`);
  const view = new DataView(share.buffer, share.byteOffset, share.byteLength);
  const y = toBigInt(share.subarray(HEADER_BYTES));
  const x = view.getUint16(0);
  if (x === 0 || y >= P) throw invalid("malformed share");
  return { x: BigInt(x), threshold: share[2] as number, length: share[3] as number, y };
}

/** The inverse of `a` modulo P (extended Euclid). */
function invert(a: bigint): bigint {
  let [r0, r1] = [P, a % P];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return ((t0 % P) + P) % P;
}

/** A uniform element of the field, by rejection from 521 random bits. */
function randomElement(): bigint {
  for (;;) {
    const bytes = randomBytes(ELEMENT_BYTES);
    bytes[0] = (bytes[0] as number) & 0x01;
    const value = toBigInt(bytes);
    if (value < P) return value;
  }
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

function toBytes(value: bigint, length: number): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(2 * length, "0"), "hex"));
}

function invalid(message: string): FedbridgeError {
  return new FedbridgeError(Code.InvalidArgument, `Shamir: ${message}`);
}
