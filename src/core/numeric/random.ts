import { sha256 } from "../security/sha256.ts";
import { boxMuller } from "./box-muller.ts";

/**
 * A seeded pseudo-random generator (xoshiro128**) for choices that need not stay secret: data,
 * initial models, node sampling, SecAgg+'s neighbours and rounding. They draw from one of these,
 * so a run is reproducible bit for bit from its seed. Privacy noise draws from privacy-random.ts
 * instead: xoshiro's state, and so its next draws, can be recovered from a few outputs.
 */
export interface Rng {
  /** A float in [0, 1) with 32 random bits. */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** A standard normal draw (Box–Muller). */
  normal(): number;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
}

/**
 * Derives a 128-bit seed from any parts, e.g. `deriveSeed(runSeed, partitionId, round)`.
 * Different parts give independent streams; the same parts always give the same stream.
 */
export function deriveSeed(...parts: readonly (string | number | bigint)[]): Uint32Array {
  const digest = sha256(parts.map(String).join("\u0000"));
  return new Uint32Array(digest.buffer, digest.byteOffset, 4).slice();
}

/** Creates a generator from a number, or from the parts that `deriveSeed` takes. */
export function createRng(...seedParts: readonly (string | number | bigint)[]): Rng {
  const s = deriveSeed(...seedParts);
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1; // xoshiro's one forbidden state
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1] as number, 5), 7), 9) >>> 0;
    const t = (s[1] as number) << 9;
    s[2] = (s[2] as number) ^ (s[0] as number);
    s[3] = (s[3] as number) ^ (s[1] as number);
    s[1] = (s[1] as number) ^ (s[2] as number);
    s[0] = (s[0] as number) ^ (s[3] as number);
    s[2] = (s[2] as number) ^ t;
    s[3] = rotl(s[3] as number, 11);
    return result;
  };
  const next = (): number => nextUint32() / 2 ** 32;
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: boxMuller(() => 1 - next(), next), // 1 − next() is in (0, 1]: the log stays finite
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [
          items[j] as (typeof items)[number],
          items[i] as (typeof items)[number],
        ];
      }
      return items;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
