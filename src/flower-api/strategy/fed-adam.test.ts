import { describe, expect, it } from "vitest";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedAdam } from "./fed-adam.ts";

/**
 * Two nodes that move the model they get by Δ ∓ 1 (equal weights): FedAvg's average is
 * then the model + Δ, so the pseudo-gradient is Δ: [2, -2] in round 1, [4, -4] in round 2.
 */
const nodes = [-1, 1].map((spread) =>
  fakeNode({
    arrays: ([a, b], round) => {
      const delta = round === 1 ? 2 : 4;
      return [(a as number) + delta + spread, (b as number) - delta + spread];
    },
  }),
);

describe("FedAdam", () => {
  it("takes bias-corrected Adam steps, its moments carried from round 1 to round 2", async () => {
    const strategy = () => new FedAdam({ eta: 1, beta1: 0.5, beta2: 0.5, tau: 0 });
    // Round 1 (t = 1), Δ = 2: m = 0.5·0 + 0.5·2 = 1, v = 0.5·0 + 0.5·4 = 2,
    // step = η·√(1 − 0.5²) / (1 − 0.5²) = 1/√0.75 = 1.1547005,
    // x₁ = 0 + 1.1547005 · 1/√2 = 0.8164966.
    const one = await runStrategy(strategy(), nodes, [0, 0], 1);
    const [a1, b1] = valuesOf(one.result.arrays);
    expect(a1).toBeCloseTo(0.8164966, 5);
    expect(b1).toBeCloseTo(-0.8164966, 5); // the same with Δ = −2, mirrored
    // Round 2 (t = 2), Δ = 4: m = 0.5·1 + 0.5·4 = 2.5, v = 0.5·2 + 0.5·16 = 9,
    // step = √(1 − 0.5³) / (1 − 0.5³) = 1/√0.875 = 1.0690450,
    // x₂ = 0.8164966 + 1.0690450 · 2.5/3 = 0.8164966 + 0.8908708 = 1.7073674.
    // (Fresh moments would give m = 2, v = 8: x₂ = 0.8164966 + 1.0690450·2/√8 = 1.5724.)
    const two = await runStrategy(strategy(), nodes, [0, 0], 2);
    const [a2, b2] = valuesOf(two.result.arrays);
    expect(a2).toBeCloseTo(1.7073674, 5);
    expect(b2).toBeCloseTo(-1.7073674, 5);
  });

  it("has Flower's defaults and keeps a float32 model float32", async () => {
    const strategy = new FedAdam();
    expect([strategy.eta, strategy.etaL, strategy.beta1, strategy.beta2, strategy.tau]).toEqual([
      0.1, 0.1, 0.9, 0.99, 0.001,
    ]);
    const { result } = await runStrategy(strategy, nodes, [0, 0], 1);
    expect(result.arrays.get("0")?.dtype).toBe("float32");
  });
});
