import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { combineShares, createShares } from "./shamir.ts";

/** Every subset of `items` of size `k`. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((item, i) => subsets(items.slice(i + 1), k - 1).map((s) => [item, ...s]));
}

describe("Shamir secret sharing", () => {
  const secret = Uint8Array.from(randomBytes(32));

  it("reconstructs the secret from any t of the n shares, and from more", () => {
    const shares = createShares(secret, 4, 6);
    for (const k of [4, 5, 6]) {
      for (const subset of subsets(shares, k)) expect(combineShares(subset)).toEqual(secret);
    }
  });

  it("does not reconstruct it from t − 1 shares", () => {
    const shares = createShares(secret, 4, 6);
    for (const subset of subsets(shares, 3)) {
      expect(() => combineShares(subset)).toThrow(
        /3 shares cannot reconstruct a secret that needs 4/,
      );
      // Past the count check (the header claims threshold 3), interpolating 3 points of a
      // degree-3 polynomial gives some other field element, not the secret.
      const forged = subset.map((share) => {
        const copy = share.slice();
        copy[2] = 3;
        return copy;
      });
      let got: Uint8Array | undefined;
      try {
        got = combineShares(forged);
      } catch {
        got = undefined;
      }
      expect(got).not.toEqual(secret);
    }
  });

  it("keeps leading zero bytes and short secrets", () => {
    const padded = Uint8Array.from([0, 0, 7, 1]);
    expect(combineShares(createShares(padded, 2, 3).slice(1))).toEqual(padded);
  });

  it("makes fresh shares each time (random coefficients)", () => {
    const [a] = createShares(secret, 2, 2);
    const [b] = createShares(secret, 2, 2);
    expect(a).not.toEqual(b);
  });

  it("refuses shares of two secrets, repeated shares and bad parameters", () => {
    const a = createShares(secret, 2, 3);
    const b = createShares(secret.subarray(0, 16), 2, 3);
    expect(() => combineShares([a[0] as Uint8Array, b[1] as Uint8Array])).toThrow(
      /not of one secret/,
    );
    expect(() => combineShares([a[0] as Uint8Array, a[0] as Uint8Array])).toThrow(/same index/);
    expect(() => createShares(secret, 4, 3)).toThrow(/cannot make 3 shares with threshold 4/);
    expect(() => createShares(new Uint8Array(65), 2, 3)).toThrow(/1 to 64 bytes/);
  });
});
