import { describe, expect, it } from "vitest";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedYogi } from "./fed-yogi.ts";

/**
 * Two nodes that move the model they get by Δ ∓ 1 (equal weights), so the pseudo-gradient
 * is Δ: [2, 2] in round 1, then [4, 1] in round 2.
 */
const nodes = [-1, 1].map((spread) =>
  fakeNode({
    arrays: ([a, b], round) =>
      round === 1
        ? [(a as number) + 2 + spread, (b as number) + 2 + spread]
        : [(a as number) + 4 + spread, (b as number) + 1 + spread],
  }),
);

describe("FedYogi", () => {
  it("moves v additively by the sign of v − Δ², carried from round 1 to round 2", async () => {
    const strategy = () => new FedYogi({ eta: 1, beta1: 0.5, beta2: 0.5, tau: 0 });
    // Round 1, Δ = 2 on both: m = 0.5·2 = 1; v = 0 − 0.5·4·sign(0 − 4) = 2;
    // x₁ = 0 + 1·1/√2 = 0.7071068.
    const one = await runStrategy(strategy(), nodes, [0, 0], 1);
    for (const x of valuesOf(one.result.arrays)) expect(x).toBeCloseTo(Math.SQRT1_2, 5);
    // Round 2, first coordinate, Δ = 4: m = 0.5·1 + 0.5·4 = 2.5;
    //   v = 2 − 0.5·16·sign(2 − 16) = 2 + 8 = 10; x₂ = 0.7071068 + 2.5/√10 = 1.4976762.
    // Second coordinate, Δ = 1: m = 0.5·1 + 0.5·1 = 1;
    //   v = 2 − 0.5·1·sign(2 − 1) = 1.5 (v shrinks); x₂ = 0.7071068 + 1/√1.5 = 1.5236034.
    const two = await runStrategy(strategy(), nodes, [0, 0], 2);
    const [a, b] = valuesOf(two.result.arrays);
    expect(a).toBeCloseTo(1.4976762, 5);
    expect(b).toBeCloseTo(1.5236034, 5);
  });

  it("has Flower's defaults", () => {
    const s = new FedYogi();
    expect([s.eta, s.etaL, s.beta1, s.beta2, s.tau]).toEqual([0.01, 0.0316, 0.9, 0.99, 0.001]);
  });
});
