import { describe, expect, it } from "vitest";
import { createRng, deriveSeed } from "./random.ts";

describe("createRng", () => {
  it("gives the same stream for the same seed parts and another for other parts", () => {
    const draw = (...parts: number[]) => {
      const rng = createRng(...parts);
      return Array.from({ length: 8 }, () => rng.next());
    };
    expect(draw(7, 0, 1)).toEqual(draw(7, 0, 1));
    expect(draw(7, 0, 1)).not.toEqual(draw(7, 1, 1));
    expect(draw(7, 0, 1)).not.toEqual(draw(8, 0, 1));
  });

  it("draws uniform floats in [0, 1) and normals with mean 0 and variance 1", () => {
    const rng = createRng(1);
    const n = 50_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    // Standard errors: mean 1/sqrt(n) ≈ 0.0045, variance sqrt(2/n) ≈ 0.0063; allow 5 of them.
    expect(Math.abs(sum / n)).toBeLessThan(0.023);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.032);
  });

  it("shuffles into a permutation", () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const shuffled = createRng(3).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
  });

  it("derives 128-bit seeds from the parts", () => {
    expect(deriveSeed(1, 2)).toHaveLength(4);
    expect(deriveSeed(1, 2)).toEqual(deriveSeed("1", "2"));
  });
});
