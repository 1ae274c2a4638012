import { describe, expect, it } from "vitest";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedAvgM } from "./fed-avg-m.ts";
import { FedAvg } from "./fedavg.ts";

/** Two nodes that move the model they get by +1 and +3 (equal weights): the average is +2. */
const nodes = [1, 3].map((step) =>
  fakeNode({ arrays: ([a, b]) => [(a as number) + step, (b as number) - step] }),
);

describe("FedAvgM", () => {
  it("applies server momentum, carried from round 1 to round 2", async () => {
    const strategy = () => new FedAvgM({ serverLearningRate: 0.5, serverMomentum: 0.5 });
    // Round 1: pseudo-gradient g = x − average = 0 − 2 = −2; v = g = −2;
    // x₁ = 0 − 0.5·(−2) = 1. (Second coordinate mirrored: −1.)
    const one = await runStrategy(strategy(), nodes, [0, 0], 1);
    expect(valuesOf(one.result.arrays)).toEqual([1, -1]);
    // Round 2: g = 1 − 3 = −2; v = 0.5·(−2) + (−2) = −3; x₂ = 1 − 0.5·(−3) = 2.5.
    // (Without momentum: 1 − 0.5·(−2) = 2.)
    const two = await runStrategy(strategy(), nodes, [0, 0], 2);
    expect(valuesOf(two.result.arrays)).toEqual([2.5, -2.5]);
  });

  it("is FedAvg with the defaults (learning rate 1, no momentum)", async () => {
    const strategy = new FedAvgM();
    expect(strategy.serverOpt).toBe(false);
    const [m, a] = await Promise.all([
      runStrategy(strategy, nodes, [0.1, 0.2], 2),
      runStrategy(new FedAvg(), nodes, [0.1, 0.2], 2),
    ]);
    expect(valuesOf(m.result.arrays)).toEqual(valuesOf(a.result.arrays));
  });
});
