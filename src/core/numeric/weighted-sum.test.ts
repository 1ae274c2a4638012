import { describe, expect, it } from "vitest";
import { createRng } from "./random.ts";
import {
  addScaledFloat32,
  hasWasmSimd,
  weightedSumFloat32,
  weightedSumFloat32Js,
} from "./weighted-sum.ts";

/** The float32 bit patterns, so that -0, +0 and every last bit count. */
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function randomInputs(seed: number, count: number, length: number): Float32Array[] {
  const rng = createRng("weighted-sum", seed);
  return Array.from({ length: count }, () => {
    const x = new Float32Array(length);
    // Mixed magnitudes, signs and some exact zeros, so that rounding differs from input to input.
    for (let j = 0; j < length; j++) {
      x[j] = rng.next() < 0.05 ? 0 : rng.normal() * 2 ** (rng.int(40) - 20);
    }
    return x;
  });
}

describe("weightedSumFloat32", () => {
  it("runs the WebAssembly SIMD kernel on Node", () => {
    expect(hasWasmSimd()).toBe(true);
  });

  it.each([0, 1, 3, 5, 16, 8191, 16383, 16384 + 7, 100_003])(
    "gives the JS fallback's sum bit for bit for length %i",
    (length) => {
      // Past 16 inputs the kernel runs in several groups; an odd count leaves the JS path a single.
      for (const count of length > 20_000 ? [3, 33] : [1, 2, 7, 17, 40]) {
        const inputs = randomInputs(length * 100 + count, count, length);
        const rng = createRng("weights", length, count);
        const weights = inputs.map(() => rng.normal());
        const simd = weightedSumFloat32(inputs, weights);
        const js = weightedSumFloat32Js(inputs, weights);
        expect(simd.length).toBe(length);
        expect(bits(simd)).toEqual(bits(js));
      }
    },
  );

  it("sums the float32-rounded products in float32, in the order of the inputs (worked example)", () => {
    const inputs = [
      Float32Array.of(1, 0, -0, 3),
      Float32Array.of(3, 2 ** 24, -0, 0),
      Float32Array.of(0.5, 1, -0, 0),
    ];
    const weights = [0.1, 1, 1];
    // w0 = fround(0.1) = 13421773 / 2^27 = 0.100000001490116119384765625.
    const expected = Float32Array.of(
      // w0 + 3 = 3.10000000149… rounds to 13002342 / 2^22 = 3.0999999046… (ulp 2^-22); + 0.5 is
      // exact: 3.5999999046…
      15099494 / 2 ** 22,
      // 2^24 + 1 is a tie between 2^24 and 2^24 + 2 in float32: it rounds to even, 2^24.
      16777216,
      // The sum starts at +0, and +0 + -0 = +0.
      0,
      // w0 * 3 = 40265319 / 2^27 needs 26 bits: it rounds to 40265320 / 2^27 = fround(0.3).
      40265320 / 2 ** 27,
    );
    for (const sum of [weightedSumFloat32, weightedSumFloat32Js]) {
      const result = sum(inputs, weights);
      expect(bits(result)).toEqual(bits(expected));
      expect(Object.is(result[2], 0)).toBe(true);
    }
  });

  it("writes into `out` when given, and returns it", () => {
    const inputs = [Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6)];
    for (const sum of [weightedSumFloat32, weightedSumFloat32Js]) {
      const out = new Float32Array(3).fill(99);
      expect(sum(inputs, [0.5, 0.25], out)).toBe(out);
      expect(Array.from(out)).toEqual([1.5, 2.25, 3]);
    }
  });

  it("sums inputs given as their bytes at any alignment to the same bits", () => {
    const inputs = randomInputs(7, 5, 20_011); // not a multiple of the block or the SIMD step
    const expected = weightedSumFloat32(inputs, [0.1, 0.2, 0.3, 0.15, 0.25]);
    // Each input's bytes at offset 1, 2, 3, 4 or 5 of a buffer of its own: mostly misaligned.
    const asBytes = inputs.map((x, i) => {
      const bytes = new Uint8Array(x.byteLength + 8);
      bytes.set(new Uint8Array(x.buffer), i + 1);
      return bytes.subarray(i + 1, i + 1 + x.byteLength);
    });
    const mixed = [asBytes[0], inputs[1], asBytes[2], asBytes[3], inputs[4]] as (
      | Float32Array
      | Uint8Array
    )[];
    for (const sum of [weightedSumFloat32, weightedSumFloat32Js]) {
      expect(bits(sum(asBytes, [0.1, 0.2, 0.3, 0.15, 0.25]))).toEqual(bits(expected));
      expect(bits(sum(mixed, [0.1, 0.2, 0.3, 0.15, 0.25]))).toEqual(bits(expected));
      expect(() => sum([new Uint8Array(6)], [1])).toThrow(/6 bytes, not a whole number of float32/);
    }
  });

  it("gives zeros for no inputs", () => {
    for (const sum of [weightedSumFloat32, weightedSumFloat32Js]) {
      expect(sum([], []).length).toBe(0);
      expect(Array.from(sum([], [], new Float32Array(3).fill(7)))).toEqual([0, 0, 0]);
    }
  });

  it("throws a RangeError on mismatched lengths", () => {
    const a = new Float32Array(4);
    const b = new Float32Array(5);
    for (const sum of [weightedSumFloat32, weightedSumFloat32Js]) {
      expect(() => sum([a, b], [1, 1])).toThrow(RangeError);
      expect(() => sum([a, b], [1, 1])).toThrow(/input 1 has length 5, input 0 has 4/);
      expect(() => sum([a, a], [1])).toThrow(/1 weights for 2 inputs/);
      expect(() => sum([a], [1], b)).toThrow(/out has length 5, the inputs have 4/);
    }
  });
});

describe("addScaledFloat32", () => {
  it("adds weight × value in float64, rounded to float32 once: not weightedSumFloat32's order (worked example)", () => {
    const a = Float32Array.of(2 ** -22);
    const x = Float32Array.of(1 + 2 ** -23);
    const acc = new Float32Array(1);
    addScaledFloat32(acc, a, 1);
    addScaledFloat32(acc, x, 3);
    // 2^-22 + 3·(1 + 2^-23) = 3 + 2.5·2^-22 exactly: a tie in float32 (ulp 2^-22), to even.
    expect(acc[0]).toBe(3 + 2 ** -21);
    // weightedSumFloat32 first rounds 3·x = 3 + 1.5·2^-22 (a tie) to 3 + 2^-21; + 2^-22 is exact.
    for (const sum of [weightedSumFloat32, weightedSumFloat32Js])
      expect(sum([a, x], [1, 3])[0]).toBe(3 + 3 * 2 ** -22);
  });

  it("adds into a subarray, and throws a RangeError on mismatched lengths", () => {
    const acc = Float32Array.of(1, 1, 1, 1);
    addScaledFloat32(acc.subarray(1, 3), Float32Array.of(2, 4), 0.5);
    expect(Array.from(acc)).toEqual([1, 2, 3, 1]);
    expect(() => addScaledFloat32(acc, new Float32Array(3), 1)).toThrow(
      /values have length 3, acc has 4/,
    );
  });
});
