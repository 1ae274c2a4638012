import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { boxMuller } from "./box-muller.ts";

/**
 * Random numbers for privacy noise, on both sides: the runtime's privacy filters and the
 * Flower-style DP wrappers and LocalDpMod. An AES-256-CTR keystream, so draws are as hard to
 * predict as the key is to guess (a plain PRNG's state, xoshiro's in random.ts for one, can be
 * recovered from its outputs, and with it the rest of the noise). Seeded from parts, the stream
 * is reproducible bit for bit; unseeded, its key comes from the operating system's entropy.
 */
export interface PrivacyRandom {
  /** A float in (0, 1), never 0 or 1, with 53 random bits. */
  uniform(): number;
  /** An integer in [0, n), for n ≤ 2^53 (bias at most n / 2^53). */
  int(n: number): number;
  /** A standard normal draw (Box–Muller, in pairs: the second is kept for the next call). */
  normal(): number;
  /** A draw from Laplace(0, scale): density exp(-|x| / scale) / (2 scale). */
  laplace(scale: number): number;
}

/** Bytes of keystream made per refill: whole AES blocks, enough for 8,192 uniforms. */
const REFILL_BYTES = 64 * 1024;
const TWO_POW_26 = 2 ** 26;
const TWO_POW_53 = 2 ** 53;

/**
 * A generator whose stream is fixed by `parts` (joined unambiguously and hashed into the key):
 * the same parts always give the same draws, any other parts independent ones. Whoever knows
 * the parts can replay the stream, so a secret belongs among them where the draws must stay
 * private.
 */
export function createPrivacyRandom(
  ...parts: readonly (string | number | boolean | null | undefined)[]
): PrivacyRandom {
  const key = createHash("sha256").update(JSON.stringify(parts)).digest();
  return fromKey(key);
}

/** A generator keyed from the operating system's entropy: not reproducible. */
export function createSecureRandom(): PrivacyRandom {
  return fromKey(randomBytes(32));
}

function fromKey(key: Uint8Array): PrivacyRandom {
  // A key is used for one stream only, so a zero counter block is safe.
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(REFILL_BYTES);
  let block = Buffer.alloc(0);
  let offset = 0;
  const nextUint32 = (): number => {
    if (offset === block.length) {
      block = cipher.update(zeros);
      offset = 0;
    }
    const value = block.readUInt32LE(offset);
    offset += 4;
    return value;
  };
  // 53 bits in [0, 2^53), shifted by half a step so 0 and 1 are never returned.
  const uniform = (): number =>
    ((nextUint32() >>> 5) * TWO_POW_26 + (nextUint32() >>> 6) + 0.5) / TWO_POW_53;
  return {
    uniform,
    int(n) {
      return Math.min(n - 1, Math.floor(uniform() * n));
    },
    normal: boxMuller(uniform, uniform),
    laplace(scale) {
      // Inverse CDF: u in (0, 1/2) gives the left half, [1/2, 1) the right.
      const u = uniform();
      return u < 0.5 ? scale * Math.log(2 * u) : -scale * Math.log(2 * (1 - u));
    },
  };
}
