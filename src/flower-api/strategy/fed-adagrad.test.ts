import { describe, expect, it } from "vitest";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedAdagrad } from "./fed-adagrad.ts";

/**
 * Two nodes that move the model they get by Δ ∓ 1 (equal weights), so the pseudo-gradient
 * is Δ: [3, −4] in round 1, then [4, −3] in round 2.
 */
const nodes = [-1, 1].map((spread) =>
  fakeNode({
    arrays: ([a, b], round) =>
      round === 1
        ? [(a as number) + 3 + spread, (b as number) - 4 + spread]
        : [(a as number) + 4 + spread, (b as number) - 3 + spread],
  }),
);

describe("FedAdagrad", () => {
  it("sums Δ² over the rounds in v (β₁ = β₂ = 0)", async () => {
    const strategy = () => new FedAdagrad({ eta: 1, tau: 1 });
    // Round 1: m = Δ = [3, −4], v = Δ² = [9, 16];
    // x₁ = [3/(√9 + 1), −4/(√16 + 1)] = [0.75, −0.8].
    const one = await runStrategy(strategy(), nodes, [0, 0], 1);
    const [a1, b1] = valuesOf(one.result.arrays);
    expect(a1).toBeCloseTo(0.75, 6);
    expect(b1).toBeCloseTo(-0.8, 6);
    // Round 2: m = [4, −3], v = [9 + 16, 16 + 9] = [25, 25];
    // x₂ = [0.75 + 4/(5 + 1), −0.8 − 3/(5 + 1)] = [1.4166667, −1.3].
    // (Without the carried v: 0.75 + 4/(4 + 1) = 1.55.)
    const two = await runStrategy(strategy(), nodes, [0, 0], 2);
    const [a2, b2] = valuesOf(two.result.arrays);
    expect(a2).toBeCloseTo(1.4166667, 5);
    expect(b2).toBeCloseTo(-1.3, 5);
  });

  it("has Flower's defaults, with the moments' rates fixed at 0", () => {
    const s = new FedAdagrad();
    expect([s.eta, s.etaL, s.beta1, s.beta2, s.tau]).toEqual([0.1, 0.1, 0, 0, 0.001]);
  });
});
