import { describe, expect, it } from "vitest";
import { createRng } from "../../core/numeric/random.ts";
import { addMask, expandMask, reduceModulo } from "./mask.ts";
import { dequantizeSum, quantizeInto, quantizeWeight } from "./quantization.ts";

const params = { clippingRange: 8, quantizationRange: 2 ** 22 };
const step = (2 * params.clippingRange) / params.quantizationRange;

describe("quantization", () => {
  it("round-trips values within one step, clipping those out of range", () => {
    const rng = createRng(1);
    const values = Float32Array.from({ length: 10_000 }, () => (rng.next() - 0.5) * 16);
    const out = new Uint32Array(values.length + 2);
    quantizeInto(out, 1, values, 1, params, createRng("q"));
    values.forEach((v, k) => {
      expect(Math.abs(dequantizeSum(out[k + 1] as number, 1, params) - v)).toBeLessThan(step);
    });
    const clipped = new Uint32Array(2);
    quantizeInto(clipped, 0, [100, -100], 1, params, createRng("q"));
    expect([...clipped]).toEqual([params.quantizationRange, 0]);
  });

  it("rounds stochastically without bias, and the same way for the same seed", () => {
    const value = 0.3 * step + 1.5; // 30% of the way between two levels
    const values = new Float64Array(20_000).fill(value);
    const out = new Uint32Array(values.length);
    quantizeInto(out, 0, values, 1, params, createRng("bias"));
    const mean = out.reduce((s, q) => s + dequantizeSum(q, 1, params), 0) / out.length;
    expect(Math.abs(mean - value)).toBeLessThan(0.02 * step);
    expect(new Set(out).size).toBe(2);
    const again = new Uint32Array(values.length);
    quantizeInto(again, 0, values, 1, params, createRng("bias"));
    expect(again).toEqual(out);
  });

  it("sums: the dequantized sum of n vectors is the sum of the values", () => {
    const a = new Uint32Array(1);
    const b = new Uint32Array(1);
    quantizeInto(a, 0, [0.25], 0.5, params, createRng("a"));
    quantizeInto(b, 0, [-1.5], 0.5, params, createRng("b"));
    const sum = dequantizeSum((a[0] as number) + (b[0] as number), 2, params);
    expect(Math.abs(sum - (0.125 - 0.75))).toBeLessThan(2 * step);
  });

  it("quantizes weights against maxWeight", () => {
    expect(quantizeWeight(500, 1000, 2 ** 22)).toBe(2 ** 21);
    expect(quantizeWeight(0, 1000, 2 ** 22)).toBe(0);
  });

  it("refuses NaN and infinite values", () => {
    expect(() =>
      quantizeInto(new Uint32Array(1), 0, [Number.NaN], 1, params, createRng(0)),
    ).toThrow(/non-finite/);
  });
});

describe("masks", () => {
  it("expand a seed to the same words every time, and another seed to others", () => {
    const seed = new Uint8Array(32).fill(7);
    expect(expandMask(seed, 1000)).toEqual(expandMask(seed, 1000));
    expect(expandMask(seed, 1000)).not.toEqual(expandMask(new Uint8Array(32).fill(8), 1000));
    expect(new Set(expandMask(seed, 1000)).size).toBeGreaterThan(990);
  });

  it("cancel when one node adds and the other subtracts, modulo any power of two", () => {
    const mask = expandMask(new Uint8Array(32).fill(1), 100);
    const x = Uint32Array.from({ length: 100 }, (_, k) => k * 1000);
    const y = Uint32Array.from({ length: 100 }, (_, k) => k);
    addMask(x, mask, 1);
    addMask(y, mask, -1);
    addMask(x, y);
    reduceModulo(x, 2 ** 20);
    expect([...x]).toEqual(Array.from({ length: 100 }, (_, k) => k * 1001));
  });
});
