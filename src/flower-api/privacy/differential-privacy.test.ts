import { describe, expect, it } from "vitest";
import { createPrivacyRandom } from "../../core/numeric/privacy-random.ts";
import { createRng } from "../../core/numeric/random.ts";
import {
  addGaussianNoiseInplace,
  clipInputsInplace,
  computeAdaptiveNoiseParams,
  computeClipModelUpdate,
  computeStdv,
  getNorm,
  localDpStdDev,
} from "./differential-privacy.ts";
import { expectNormalSamples } from "./dp-test-helpers.ts";

describe("addGaussianNoiseInplace", () => {
  it("draws noise of the configured standard deviation (chi-square bound)", () => {
    for (const sigma of [0.37, 4]) {
      const values = new Float64Array(200_000);
      addGaussianNoiseInplace([values], sigma, createPrivacyRandom("noise-test", sigma));
      expectNormalSamples(values, sigma);
    }
  });

  it("the bound catches noise 2 % too large", () => {
    const values = new Float64Array(200_000);
    addGaussianNoiseInplace([values], 1.02, createPrivacyRandom("noise-test", 1));
    expect(() => expectNormalSamples(values, 1)).toThrow();
  });

  it("is reproducible from the generator's seed", () => {
    const draw = (...seed: number[]) => {
      const values = [new Float32Array(5), new Float64Array(3)];
      addGaussianNoiseInplace(values, 0.5, createPrivacyRandom(...seed));
      return values.flatMap((v) => [...v]);
    };
    expect(draw(1, 2)).toEqual(draw(1, 2));
    expect(draw(1, 2)).not.toEqual(draw(1, 3));
  });
});

describe("clipping", () => {
  it("leaves every update within the clipping norm, in its direction", () => {
    const rng = createRng("clip-test");
    for (let trial = 0; trial < 200; trial++) {
      const clippingNorm = 0.01 + 5 * rng.next();
      const scale = 10 ** (4 * rng.next() - 2); // updates of norm 1e-2 to 1e2
      const base = [Float64Array.from({ length: 7 }, () => rng.normal())];
      const update = Float64Array.from({ length: 7 }, () => scale * rng.normal());
      const reply = [Float64Array.from(update, (u, i) => (base[0]?.[i] as number) + u)];
      const before = getNorm([update]);
      const clipped = computeClipModelUpdate(reply, base, clippingNorm);
      const after = Float64Array.from(
        reply[0] as Float64Array,
        (v, i) => v - (base[0]?.[i] as number),
      );
      // ≤ C up to the rounding of (base + u) − base: a few ulps of the values, well under 1e-12.
      expect(getNorm([after])).toBeLessThanOrEqual(clippingNorm * (1 + 1e-12) + 1e-12);
      expect(clipped).toBe(before > clippingNorm);
      if (clipped) expect(getNorm([after])).toBeCloseTo(clippingNorm, 10);
      else
        expect(reply[0]).toEqual(Float64Array.from(update, (u, i) => (base[0]?.[i] as number) + u));
      // Same direction: the clipped update is a positive multiple of the original.
      const ratio = (after[0] as number) / (update[0] as number);
      for (let i = 0; i < 7; i++) expect(after[i]).toBeCloseTo((update[i] as number) * ratio, 10);
    }
  });

  it("clips float32 arrays within float32 rounding of the model", () => {
    const base = [new Float32Array([100, -100, 50]), new Float32Array([1])];
    const reply = [new Float32Array([103, -96, 50]), new Float32Array([1])]; // update [3, 4, 0, 0]
    expect(computeClipModelUpdate(reply, base, 1)).toBe(true);
    // (100 + 0.6) and (−100 + 0.8) are rounded to float32: an error up to 2^-17 (half an ulp
    // at 100) per value.
    expect(reply[0]?.[0]).toBeCloseTo(100.6, 4);
    expect(reply[0]?.[1]).toBeCloseTo(-99.2, 4);
    const after = getNorm([
      Float64Array.from(reply[0] as Float32Array, (v, i) => v - (base[0]?.[i] as number)),
    ]);
    expect(after).toBeLessThanOrEqual(1 + 2 * 2 ** -17);
  });

  it("measures one norm over all arrays (Flower's FlatClip)", () => {
    const arrays = [new Float64Array([3]), new Float64Array([4])]; // norm 5 together
    expect(clipInputsInplace(arrays, 1)).toBe(true);
    expect([...(arrays[0] as Float64Array), ...(arrays[1] as Float64Array)]).toEqual([
      0.6000000000000001, 0.8,
    ]);
    expect(clipInputsInplace([new Float64Array([0, 0])], 1)).toBe(false); // a zero update
  });

  it("refuses a reply whose arrays do not match the model", () => {
    expect(() => computeClipModelUpdate([new Float64Array(2)], [new Float64Array(3)], 1)).toThrow(
      /array 0 has 2 values/,
    );
  });
});

describe("noise parameters", () => {
  it("computes z·C/m for central DP", () => {
    expect(computeStdv(1.2, 0.5, 3)).toBeCloseTo(0.2, 15);
  });

  it("splits the noise multiplier as Flower's compute_adaptive_noise_params (worked by hand)", () => {
    // z = 0.5, m = 20: σ_b = 20/20 = 1, z_Δ = (0.5⁻² − (2·1)⁻²)^(−1/2) = (4 − 0.25)^(−1/2) = 0.51640.
    const split = computeAdaptiveNoiseParams(0.5, 20, undefined);
    expect(split.clippedCountStddev).toBe(1);
    expect(split.noiseMultiplier).toBeCloseTo(0.5163977794943223, 14);
    expect(split.noiseIncrease).toBeCloseTo(0.5163977794943223 / 0.5, 14);
    // z = 1, m = 10: σ_b = 0.5 and z ≥ 2σ_b, so no z_Δ exists.
    expect(() => computeAdaptiveNoiseParams(1, 10, undefined)).toThrow(/too low/);
    expect(computeAdaptiveNoiseParams(0, 10, undefined)).toEqual({
      clippedCountStddev: 0,
      noiseMultiplier: 0,
      noiseIncrease: 1,
    });
  });

  it("calibrates local DP as the classic Gaussian mechanism", () => {
    // Δ = 0.2, ε = 0.5, δ = 1e-5: 0.2·√(2 ln 125000)/0.5 = 0.4·√(2·11.736069) = 0.4·4.8448053.
    expect(localDpStdDev(0.2, 0.5, 1e-5)).toBeCloseTo(0.4 * 4.844805262605389, 13);
  });
});
