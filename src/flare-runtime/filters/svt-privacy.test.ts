import { describe, expect, it } from "vitest";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { createFilter } from "./filter-registry.ts";
import { createSvtPrivacy, svtBudget, svtPrivacyArgs } from "./svt-privacy.ts";
import { contextOf, f32, flatValues, shareableOf, valuesOf } from "./test-shareables.ts";

const svtPrivacy = (args: object) => createSvtPrivacy(svtPrivacyArgs.parse(args));

/** `n` values alternating in sign, magnitudes 0.001..0.001 n, in two records. */
function diffOf(n: number) {
  const values = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * 0.001 * (i + 1));
  return shareableOf("WEIGHT_DIFF", {
    a: { w: values.slice(0, n / 2) },
    b: { v: values.slice(n / 2) },
  });
}

const nonzero = (values: number[]) => values.filter((v) => v !== 0).length;

describe("SVTPrivacy", () => {
  it("releases exactly n = ceil(fraction × count) values without replacement, the rest zeroed", async () => {
    // 200 values, fraction 0.1: n = 20. tau −1 puts the threshold far below any response,
    // so every value is accepted in the first pass and 20 of the 200 are drawn. noiseVar 1e9
    // makes the release noise's scale 2 gamma / 1e9 = 2e-14: a released value is clip(v).
    const out = await svtPrivacy({ tau: -1, noiseVar: 1e9, replace: false, seed: 1 }).process(
      diffOf(200),
      contextOf(),
    );
    const values = flatValues(out);
    expect(values).toHaveLength(200);
    expect(nonzero(values)).toBe(20);
    // Every input is beyond gamma 1e-5, so each released one is ±gamma with the input's sign.
    const input = flatValues(diffOf(200));
    values.forEach((v, i) => {
      if (v !== 0) expect(v).toBeCloseTo(Math.sign(input[i] as number) * 1e-5, 12);
    });
    expect(out.meta.svtPrivacy).toMatchObject({ released: 20, passes: 1 });
  });

  it("releases at most n values with replacement (a value drawn twice counts once)", async () => {
    const out = await svtPrivacy({ tau: -1, noiseVar: 1e9, seed: 2 }).process(
      diffOf(200),
      contextOf(),
    );
    const count = nonzero(flatValues(out));
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(20);
  });

  it("releases only values whose clipped magnitude clears the threshold when noise is small", async () => {
    // gamma 1, tau 0.5, and budgets of 1000 each: threshold noise scale 1/1000, query noise
    // scale 2 × 1 × 2 / 1000 = 0.004 (n = ceil(0.1 × 20) = 2). Values of 0.9 clear 0.5; those of
    // 0.1 would need noise of 0.4, 100 scales: probability e^-100 / 2.
    const big = [0.9, -0.1, 0.1, -0.1, 0.1, 0.9, 0.1, -0.1, 0.1, -0.9];
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: big }, b: { v: big.map((v) => -v) } });
    const args = {
      fraction: 0.1,
      gamma: 1,
      tau: 0.5,
      epsilon: 2000,
      epsilonThreshold: 1000,
      epsilonQuery: 1000,
      noiseVar: 1e12,
      replace: false,
    };
    for (const seed of [1, 2, 3, 4, 5]) {
      const out = await svtPrivacy({ ...args, seed }).process(structuredClone(diff), contextOf());
      const values = flatValues(out);
      const input = flatValues(diff);
      expect(nonzero(values)).toBe(2);
      // Two of the six ±0.9 come back as they are (release noise scale 2 × 2 / 2e12); no 0.1.
      values.forEach((v, i) => {
        if (v !== 0) {
          expect(Math.abs(input[i] as number)).toBe(Math.fround(0.9));
          expect(v).toBeCloseTo(input[i] as number, 6);
        }
      });
    }
  });

  it("adds release noise of scale 2 gamma / noiseVar (mean |noise| = scale)", async () => {
    // 10,000 zeros, all released (fraction 1, tau far below): what comes back is the noise.
    // Release budget n × noiseVar, scale 2 gamma n / (n noiseVar) = 2 × 1 / 2 = 1.
    // Laplace(1): E|x| = 1 and the median of |x| is ln 2; 10,000 draws put both within 0.03.
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: new Array(10_000).fill(0) } });
    const out = await svtPrivacy({
      fraction: 1,
      tau: -1e9,
      gamma: 1,
      noiseVar: 2,
      replace: false,
      seed: 7,
    }).process(diff, contextOf());
    const magnitudes = flatValues(out)
      .map(Math.abs)
      .sort((x, y) => x - y);
    const mean = magnitudes.reduce((s, v) => s + v, 0) / magnitudes.length;
    expect(mean).toBeGreaterThan(0.97);
    expect(mean).toBeLessThan(1.03);
    expect(Math.abs((magnitudes[5000] as number) - Math.LN2)).toBeLessThan(0.03);
  });

  it("splits epsilon as FLARE does and records it, summed over calls, in meta", async () => {
    // n = 20: threshold share 0.1 / (1 + 40^(2/3)) = 0.1 / 12.69607 = 0.0078765, query share
    // the rest 0.0921235; release budget 20 × 0.1 = 2. A call spends 2.1.
    expect(svtBudget(svtPrivacyArgs.parse({}), 20)).toEqual({
      epsilonThreshold: expect.closeTo(0.0078765, 7),
      epsilonQuery: expect.closeTo(0.0921235, 7),
      epsilonRelease: expect.closeTo(2, 12),
    });
    const filter = svtPrivacy({ tau: -1, seed: 3 });
    await filter.process(diffOf(200), contextOf());
    const second = await filter.process(diffOf(200), contextOf({ round: 2 }));
    expect(second.meta.svtPrivacy).toMatchObject({
      epsilon: expect.closeTo(2.1, 12),
      cumulativeEpsilon: expect.closeTo(4.2, 12),
      calls: 2,
    });
    // One share given, the other is what is left of epsilon.
    expect(svtBudget(svtPrivacyArgs.parse({ epsilonQuery: 0.06 }), 20)).toMatchObject({
      epsilonThreshold: expect.closeTo(0.04, 12),
      epsilonQuery: 0.06,
    });
  });

  it("counts a 0-d array toward n but passes it unchanged; fraction 0 zeroes every array", async () => {
    const diff = () => shareableOf("WEIGHT_DIFF", { a: { w: [0.1, -0.2, 0.3], steps: 7 } });
    // 3 values and a scalar, fraction 1: n = 4, all drawn without replacement. w's values are
    // released (clip to 1e-5, noise of scale 2 gamma / noiseVar = 2e-4): all nonzero; the
    // scalar, drawn too, stays 7.
    const all = await svtPrivacy({ fraction: 1, tau: -1, replace: false, seed: 4 }).process(
      diff(),
      contextOf(),
    );
    expect(valuesOf(all)["a/steps"]).toEqual([7]);
    expect(nonzero(valuesOf(all)["a/w"] as number[])).toBe(3);
    expect(all.meta.svtPrivacy).toMatchObject({ released: 4, scalarsPassedThrough: 1 });
    // Fraction 0.5: n = ceil(0.5 × 4) = 2, drawn among all 4: two of w's values, or one and
    // the scalar (which stays 7 either way).
    const half = await svtPrivacy({ fraction: 0.5, tau: -1, replace: false, seed: 4 }).process(
      diff(),
      contextOf(),
    );
    expect(valuesOf(half)["a/steps"]).toEqual([7]);
    expect([1, 2]).toContain(nonzero(valuesOf(half)["a/w"] as number[]));

    const none = await svtPrivacy({ fraction: 0 }).process(diff(), contextOf());
    expect(valuesOf(none)).toEqual({ "a/w": [0, 0, 0], "a/steps": [7] });
    expect(none.meta.svtPrivacy).toBeUndefined();
  });

  it("draws the same noise for the same seed and task, other noise for another round", async () => {
    const filter = svtPrivacy({ seed: "site secret" });
    const once = flatValues(await filter.process(diffOf(100), contextOf()));
    const again = flatValues(await filter.process(diffOf(100), contextOf()));
    const nextRound = flatValues(await filter.process(diffOf(100), contextOf({ round: 2 })));
    expect(again).toEqual(once);
    expect(nextRound).not.toEqual(once);
    // Unseeded, each call draws fresh noise (scale 2e-5 / 0.1 = 2e-4 on every released value).
    const unseeded = svtPrivacy({});
    const first = flatValues(await unseeded.process(diffOf(100), contextOf()));
    const second = flatValues(await unseeded.process(diffOf(100), contextOf()));
    expect(second).not.toEqual(first);
  });

  it("passes other kinds unchanged", async () => {
    const weights = shareableOf("WEIGHTS", { a: { w: [0.5, -0.25] } });
    const out = await svtPrivacy({ seed: 1 }).process(weights, contextOf());
    expect(valuesOf(out)["a/w"]).toEqual(f32([0.5, -0.25]));
    expect(out.meta).toEqual({});
  });

  it("fails, naming the threshold, when no value can ever clear it", async () => {
    // Threshold ≈ tau 10 but clipped values are at most gamma 1e-5 and query noise has scale
    // 2 × 1e-5 × 1 / 1e6: after 1000 passes it gives up instead of hanging the site.
    const filter = svtPrivacy({
      tau: 10,
      epsilon: 2e6,
      epsilonThreshold: 1e6,
      epsilonQuery: 1e6,
      seed: 5,
    });
    const diff = shareableOf("WEIGHT_DIFF", { a: { w: [0.1, 0.2, 0.3] } });
    const failure = await Promise.resolve()
      .then(() => filter.process(diff, contextOf()))
      .catch((error: unknown) => FedbridgeError.from(error));
    expect(failure).toBeInstanceOf(FedbridgeError);
    expect((failure as FedbridgeError).message).toMatch(
      /^SVTPrivacy accepted 0 of the 1 values it must release in 1000 passes: the noisy threshold (9\.9999|10[. ])/,
    );
  });

  it("is registered with FLARE's defaults and checks the epsilon split", () => {
    expect(createFilter({ name: "SVTPrivacy" }).name).toBe("SVTPrivacy");
    expect(svtPrivacyArgs.parse({})).toEqual({
      fraction: 0.1,
      epsilon: 0.1,
      noiseVar: 0.1,
      gamma: 1e-5,
      tau: 1e-6,
      replace: true,
      dataKinds: ["WEIGHT_DIFF"],
    });
    expect(() =>
      createFilter({ name: "SVTPrivacy", args: { epsilonThreshold: 0.05, epsilonQuery: 0.06 } }),
    ).toThrow(
      "filter SVTPrivacy: epsilonQuery: epsilonThreshold + epsilonQuery must equal epsilon (0.1)",
    );
    expect(() => createFilter({ name: "SVTPrivacy", args: { epsilonThreshold: 0.1 } })).toThrow(
      "filter SVTPrivacy: epsilonThreshold: must be below epsilon (0.1), which it shares",
    );
    expect(() => createFilter({ name: "SVTPrivacy", args: { fraction: 1.5 } })).toThrow(
      /^filter SVTPrivacy: fraction: /,
    );
  });
});
