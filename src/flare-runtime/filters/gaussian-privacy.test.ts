import { describe, expect, it } from "vitest";
import { createFilter } from "./filter-registry.ts";
import { createGaussianPrivacy, gaussianPrivacyArgs } from "./gaussian-privacy.ts";
import { contextOf, f32, flatValues, shareableOf, valuesOf } from "./test-shareables.ts";

const gaussianPrivacy = (args: object) => createGaussianPrivacy(gaussianPrivacyArgs.parse(args));

const norm = (values: number[]) => Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));

const stats = (values: number[]) => {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
};

describe("GaussianPrivacy", () => {
  it("clips the whole update, across ArrayRecords, to clippingNorm", async () => {
    // [3, 4] and [12] have norm sqrt(9 + 16 + 144) = 13. To norm 6.5 each is halved:
    // [1.5, 2] and [6], whose norm is 6.5 ≤ clippingNorm.
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: [3, 4] }, b: { v: [12] } });
    const out = await gaussianPrivacy({ clippingNorm: 6.5, noiseMultiplier: 0 }).process(
      diff,
      contextOf(),
    );
    expect(valuesOf(out)).toEqual({ "a/w": [1.5, 2], "b/v": [6] });
    expect(norm(flatValues(out))).toBeLessThanOrEqual(6.5);
  });

  it("leaves an update within the norm as it is, but for the noise", async () => {
    // Norm 0.5 ≤ 1: scale 1.
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: [0.3, -0.4] } });
    const out = await gaussianPrivacy({ clippingNorm: 1, noiseMultiplier: 0 }).process(
      diff,
      contextOf(),
    );
    expect(valuesOf(out)["a/w"]).toEqual(f32([0.3, -0.4]));
  });

  it("adds noise of std noiseMultiplier × clippingNorm to the clipped update", async () => {
    // 20,000 values of 1 (norm sqrt(20000) ≈ 141.4), clipped to norm 2: each 2 / 141.42 =
    // 0.014142. Noise std 0.5 × 2 = 1: what is left after taking off the clipped value has
    // mean 0 ± 0.03 and std 1 ± 0.03 (the standard errors are 0.007 and 0.005).
    const n = 20_000;
    const diff = shareableOf("WEIGHT_DIFF", {
      a: { w: new Array(n / 2).fill(1) },
      b: { v: new Array(n / 2).fill(1) },
    });
    const out = await gaussianPrivacy({ clippingNorm: 2, noiseMultiplier: 0.5, seed: 1 }).process(
      diff,
      contextOf(),
    );
    const clipped = 2 / Math.sqrt(n);
    const noise = flatValues(out).map((v) => v - clipped);
    const { mean, std } = stats(noise);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
  });

  it("draws the same noise for the same seed and task, other noise for another round or site", async () => {
    const filter = gaussianPrivacy({ clippingNorm: 1, noiseMultiplier: 1, seed: 42 });
    const run = async (context = contextOf()) =>
      flatValues(
        await filter.process(shareableOf("WEIGHT_DIFF", { a: { w: [0.1, 0.2, 0.3] } }), context),
      );
    const once = await run();
    expect(await run()).toEqual(once);
    expect(await run(contextOf({ round: 2 }))).not.toEqual(once);
    expect(await run(contextOf({ site: "site-2" }))).not.toEqual(once);
    const otherSeed = gaussianPrivacy({ clippingNorm: 1, noiseMultiplier: 1, seed: 43 });
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: [0.1, 0.2, 0.3] } });
    expect(flatValues(await otherSeed.process(diff, contextOf()))).not.toEqual(once);
    // Unseeded: fresh noise every call.
    const unseeded = gaussianPrivacy({ clippingNorm: 1, noiseMultiplier: 1 });
    const first = await unseeded.process(
      shareableOf("WEIGHT_DIFF", { a: { w: [0, 0] } }),
      contextOf(),
    );
    const second = await unseeded.process(
      shareableOf("WEIGHT_DIFF", { a: { w: [0, 0] } }),
      contextOf(),
    );
    expect(flatValues(second)).not.toEqual(flatValues(first));
  });

  it("filters WEIGHTS only when configured for them", async () => {
    const weights = () => shareableOf("WEIGHTS", { a: { w: [3, 4] } });
    const byDefault = await gaussianPrivacy({ clippingNorm: 1, noiseMultiplier: 0 }).process(
      weights(),
      contextOf(),
    );
    expect(valuesOf(byDefault)["a/w"]).toEqual([3, 4]);
    // Norm 5 to 1: [0.6, 0.8].
    const configured = await gaussianPrivacy({
      clippingNorm: 1,
      noiseMultiplier: 0,
      dataKinds: ["WEIGHTS"],
    }).process(weights(), contextOf());
    expect(valuesOf(configured)["a/w"]).toEqual(f32([0.6, 0.8]));
  });

  it("is registered and checks its arguments", () => {
    expect(
      createFilter({ name: "GaussianPrivacy", args: { clippingNorm: 1, noiseMultiplier: 1 } }).name,
    ).toBe("GaussianPrivacy");
    expect(() => createFilter({ name: "GaussianPrivacy", args: { noiseMultiplier: 1 } })).toThrow(
      /^filter GaussianPrivacy: clippingNorm: /,
    );
    expect(() =>
      createFilter({ name: "GaussianPrivacy", args: { clippingNorm: 0, noiseMultiplier: 1 } }),
    ).toThrow(/^filter GaussianPrivacy: clippingNorm: /);
    expect(() =>
      createFilter({ name: "GaussianPrivacy", args: { clippingNorm: 1, noiseMultiplier: -1 } }),
    ).toThrow(/^filter GaussianPrivacy: noiseMultiplier: /);
  });
});
