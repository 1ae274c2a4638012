import { describe, expect, it } from "vitest";
import { createPrivacyRandom, createSecureRandom } from "./privacy-random.ts";

const draws = (n: number, draw: () => number) => Array.from({ length: n }, draw);

describe("createPrivacyRandom", () => {
  it("gives the same stream for the same parts and another for other parts", () => {
    const a = createPrivacyRandom("seed", 1, null);
    const b = createPrivacyRandom("seed", 1, null);
    const c = createPrivacyRandom("seed", 2, null);
    const first = draws(100, a.uniform);
    expect(draws(100, b.uniform)).toEqual(first);
    expect(draws(100, c.uniform)).not.toEqual(first);
    // Parts are joined unambiguously: ("ab", "c") is not ("a", "bc").
    expect(createPrivacyRandom("ab", "c").uniform()).not.toBe(
      createPrivacyRandom("a", "bc").uniform(),
    );
  });

  it("draws uniforms in (0, 1) with mean 1/2 and variance 1/12", () => {
    const values = draws(50_000, createPrivacyRandom(1).uniform);
    expect(Math.min(...values)).toBeGreaterThan(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    // Standard errors: 0.0013 for the mean, 0.0004 for the variance.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.006);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
  });

  it("draws standard normals: mean 0, std 1, 95% within 1.96", () => {
    const random = createPrivacyRandom(2);
    const values = draws(50_000, random.normal);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    const inside = values.filter((v) => Math.abs(v) < 1.959964).length / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(std - 1)).toBeLessThan(0.015);
    expect(Math.abs(inside - 0.95)).toBeLessThan(0.005);
  });

  it("draws Laplace(scale): mean 0, E|x| = scale, P(|x| > scale ln 20) = 5%", () => {
    const random = createPrivacyRandom(3);
    const values = draws(50_000, () => random.laplace(2));
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const meanAbs = values.reduce((s, v) => s + Math.abs(v), 0) / values.length;
    // P(|x| > t) = exp(-t / scale): 5% beyond 2 ln 20 ≈ 5.99.
    const beyond = values.filter((v) => Math.abs(v) > 2 * Math.log(20)).length / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.04);
    expect(Math.abs(meanAbs - 2)).toBeLessThan(0.04);
    expect(Math.abs(beyond - 0.05)).toBeLessThan(0.005);
  });

  it("draws integers in [0, n), each about equally often", () => {
    const random = createPrivacyRandom(4);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[random.int(7)]++;
    // 10,000 each expected; the standard error is about 93.
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});

describe("createSecureRandom", () => {
  it("gives a different stream each time", () => {
    expect(draws(4, createSecureRandom().uniform)).not.toEqual(
      draws(4, createSecureRandom().uniform),
    );
  });
});
