import { describe, expect, it } from "vitest";
import { clipScale, l2Norm } from "./clip-scale.ts";

describe("l2Norm and clipScale", () => {
  it("take the norm of all arrays together", () => {
    expect(l2Norm([Float32Array.of(3), Float64Array.of(4)])).toBe(5);
    expect(clipScale([Float32Array.of(3), Float64Array.of(4)], 1)).toBe(0.2);
  });

  it("leave an update within the norm, a zero one, or a NaN one unscaled", () => {
    expect(clipScale([Float64Array.of(0.3, 0.4)], 1)).toBe(1);
    expect(clipScale([Float64Array.of(0, 0)], 1)).toBe(1);
    expect(clipScale([Float64Array.of(Number.NaN, 1)], 1)).toBe(1);
  });
});
