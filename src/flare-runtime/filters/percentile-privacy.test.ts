import { describe, expect, it } from "vitest";
import { createFilter } from "./filter-registry.ts";
import {
  createPercentilePrivacy,
  percentileOf,
  percentilePrivacyArgs,
} from "./percentile-privacy.ts";
import { contextOf, f32, shareableOf, valuesOf } from "./test-shareables.ts";

const percentilePrivacy = (args: object) =>
  createPercentilePrivacy(percentilePrivacyArgs.parse(args));

describe("PercentilePrivacy", () => {
  it("zeroes values below the percentile of all magnitudes and clips the rest to gamma", async () => {
    const diff = shareableOf("WEIGHT_DIFF", {
      a: { w: [0.001, -0.02, 0.005, -0.0005] },
      b: { v: [0.03, -0.004, 0.0002, 0.008, -0.05, 0.0001] },
    });
    // The 10 magnitudes sorted: 0.0001 0.0002 0.0005 0.001 0.004 0.005 0.008 0.02 0.03 0.05.
    // The 40th percentile sits at rank 9 × 0.4 = 3.6, between 0.001 and 0.004:
    // 0.004 − 0.4 × 0.003 = 0.0028 (numpy.percentile gives float32 0.0028000001).
    // Below it, zeroed: 0.001, −0.0005, 0.0002, 0.0001. Beyond gamma 0.01, clipped:
    // −0.02 → −0.01, 0.03 → 0.01, −0.05 → −0.01. Kept as they are: 0.005, −0.004, 0.008.
    const out = await percentilePrivacy({ percentile: 40, gamma: 0.01 }).process(diff, contextOf());
    expect(valuesOf(out)).toEqual({
      "a/w": f32([0, -0.01, 0.005, 0]),
      "b/v": f32([0.01, -0.004, 0, 0.008, -0.01, 0]),
    });
  });

  it("keeps a value equal to the cutoff: only smaller magnitudes are zeroed", async () => {
    // 25th percentile of 0.001..0.005: rank 4 × 0.25 = 1, exactly 0.002 (numpy agrees).
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: [0.001, -0.002, 0.003, 0.004, 0.005] } });
    const out = await percentilePrivacy({ percentile: 25, gamma: 1 }).process(diff, contextOf());
    expect(valuesOf(out)["a/w"]).toEqual(f32([0, -0.002, 0.003, 0.004, 0.005]));
  });

  it("counts a 0-d array toward the cutoff but shares it unchanged", async () => {
    // Magnitudes 0.1 0.2 0.3 0.9: the 50th percentile is (0.2 + 0.3) / 2 = 0.25, so 0.1 and
    // −0.2 are zeroed and 0.3 is clipped to gamma 0.05; the scalar 0.9 passes as it is.
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: [0.1, -0.2, 0.3], steps: 0.9 } });
    const out = await percentilePrivacy({ percentile: 50, gamma: 0.05 }).process(diff, contextOf());
    expect(valuesOf(out)).toEqual({ "a/w": f32([0, 0, 0.05]), "a/steps": f32([0.9]) });
  });

  it("passes other kinds unchanged unless configured for them", async () => {
    const weights = () => shareableOf("WEIGHTS", { a: { w: [0.5, -0.001] } });
    const byDefault = await percentilePrivacy({}).process(weights(), contextOf());
    expect(valuesOf(byDefault)["a/w"]).toEqual(f32([0.5, -0.001]));
    // With WEIGHTS configured: 10th percentile of 0.001, 0.5 is 0.001 + 0.1 × 0.499 = 0.0509,
    // so −0.001 is zeroed and 0.5 clipped to the default gamma 0.01.
    const configured = await percentilePrivacy({ dataKinds: ["WEIGHTS"] }).process(
      weights(),
      contextOf(),
    );
    expect(valuesOf(configured)["a/w"]).toEqual(f32([0.01, 0]));
  });

  it("computes numpy's linear-interpolation percentile", () => {
    const values = () => Float32Array.of(4, 1, 3, 2);
    // Ranks 0..3 over 1 2 3 4: q 0 → 1, q 100 → 4, q 50 → rank 1.5 → 2.5, q 10 → rank 0.3 → 1.3.
    expect(percentileOf(values(), 0)).toBe(1);
    expect(percentileOf(values(), 100)).toBe(4);
    expect(percentileOf(values(), 50)).toBe(2.5);
    expect(percentileOf(values(), 10)).toBe(Math.fround(1.3));
  });

  it("is registered with FLARE's defaults and checks its arguments", () => {
    expect(createFilter({ name: "PercentilePrivacy" }).name).toBe("PercentilePrivacy");
    expect(percentilePrivacyArgs.parse({})).toEqual({
      percentile: 10,
      gamma: 0.01,
      dataKinds: ["WEIGHT_DIFF"],
    });
    expect(() => createFilter({ name: "PercentilePrivacy", args: { percentile: 101 } })).toThrow(
      /^filter PercentilePrivacy: percentile: /,
    );
    expect(() => createFilter({ name: "PercentilePrivacy", args: { gamma: 0 } })).toThrow(
      /^filter PercentilePrivacy: gamma: /,
    );
  });
});
