import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { makeHistogram } from "./histogram.ts";

describe("makeHistogram", () => {
  it("buckets equal widths as numpy does, trimmed with one empty bucket on the left", () => {
    // numpy.histogram([1, 2, 2, 3, 10], bins=3) -> counts [4, 0, 1], edges [1, 4, 7, 10]
    const h = makeHistogram([1, 2, 2, 3, 10], 3);
    expect(h).toEqual({
      min: 1,
      max: 10,
      num: 5,
      sum: 18,
      sumSquares: 118,
      bucketLimits: [1, 4, 7, 10],
      buckets: [0, 4, 0, 1],
    });
  });

  it("drops empty buckets at both ends but keeps one on the left as the start", () => {
    // Values fill only the middle of TensorFlow's exponential edges.
    const h = makeHistogram([0.5, 0.5, 2]);
    expect(h.buckets[0]).toBe(0);
    expect(h.buckets.reduce((a, b) => a + b, 0)).toBe(3);
    expect(h.buckets.at(-1)).toBeGreaterThan(0);
    expect(h.bucketLimits).toHaveLength(h.buckets.length);
    // Each bucket's right limit is above the values it counts.
    expect(h.bucketLimits.at(-1)).toBeGreaterThan(2);
    expect(h.bucketLimits[0]).toBeLessThanOrEqual(0.5);
  });

  it("handles a single repeated value and negative values", () => {
    expect(makeHistogram([4, 4], 2)).toMatchObject({
      bucketLimits: [4, 4.5],
      buckets: [0, 2],
    });
    const neg = makeHistogram([-3, -1, 0, 1]);
    expect(neg.buckets.reduce((a, b) => a + b, 0)).toBe(4);
    expect(neg.min).toBe(-3);
  });

  it("refuses no values, non-finite values and bad bins", () => {
    for (const [values, bins] of [
      [[], 3],
      [[1, Number.NaN], 3],
      [[1, 2], 0],
      [[1, 2], 2.5],
    ] as const) {
      const error = (() => {
        try {
          makeHistogram(values, bins);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(FedbridgeError);
      expect((error as FedbridgeError).code).toBe(Code.InvalidArgument);
    }
  });
});
