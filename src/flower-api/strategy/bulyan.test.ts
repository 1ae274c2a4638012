import { describe, expect, it } from "vitest";
import { Bulyan } from "./bulyan.ts";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedAvg } from "./fedavg.ts";

/**
 * Seven nodes for f = 1 (Bulyan needs 4f + 3 = 7): six honest ones at [x, 1] for
 * x = −1, 3, 4, 8, 10, 20, and a planted outlier at [100, 100]. Each reports its x as loss.
 */
const nodes = () =>
  [-1, 3, 4, 8, 10, 20, 100].map((x) =>
    fakeNode({
      arrays: x === 100 ? [100, 100] : [x, 1],
      metrics: { loss: x, "num-examples": 1 },
    }),
  );

describe("Bulyan", () => {
  it("selects n − 2f by Multi-Krum, then averages the β values nearest the median", async () => {
    const { result } = await runStrategy(new Bulyan({ numMaliciousNodes: 1 }), nodes(), [0, 0]);
    // θ = n − 2f = 5 kept by Multi-Krum (f = 1: each scores its n − f − 2 = 4 nearest;
    // the honest second coordinates are equal, so only x counts among them):
    //   −1: 16+25+81+121 = 243   3: 1+16+25+49 = 91   4: 1+16+25+36 = 78
    //   8: 4+16+25+81 = 126      10: 4+36+49+100 = 189   20: 100+144+256+289 = 789
    //   outlier: ≥ 80² + 99² = 16201.
    // Kept: 4, 3, 8, 10, −1 (20 and the outlier are out).
    // β = θ − 2f = 3. First coordinate: median of [−1, 3, 4, 8, 10] = 4; distances
    // 5, 1, 0, 4, 6 → the 3 nearest are 4, 3, 8 → (4 + 3 + 8)/3 = 5. Second: all 1 → 1.
    expect(valuesOf(result.arrays)).toEqual([5, 1]);
    // Metrics over the kept five: (−1 + 3 + 4 + 8 + 10)/5 = 4.8.
    expect(result.trainMetricsClientapp.get(1)?.toObject().loss).toBeCloseTo(4.8, 10);
    // FedAvg would be dragged off by the outlier: (−1+3+4+8+10+20+100)/7 ≈ 20.57.
    const fedavg = await runStrategy(new FedAvg(), nodes(), [0, 0]);
    expect(valuesOf(fedavg.result.arrays)[0]).toBeCloseTo(144 / 7, 4);
  });

  it("skips the round, the model unchanged, with fewer than 4f + 3 replies", async () => {
    const six = nodes().slice(0, 6);
    const { result, lines } = await runStrategy(new Bulyan({ numMaliciousNodes: 1 }), six, [7, 7]);
    expect(valuesOf(result.arrays)).toEqual([7, 7]);
    expect(result.trainMetricsClientapp.size).toBe(0);
    expect(lines).toContain(
      "aggregate_train: Bulyan needs at least 7 replies (4·numMaliciousNodes + 3), got 6; the model stays as it was",
    );
  });

  it("uses a given selection rule for its first step", async () => {
    // Keep the first θ replies in content order, whatever they are: the outlier may stay.
    const calls: number[][] = [];
    const strategy = new Bulyan({
      numMaliciousNodes: 1,
      selectionRule: (contents, f, k) => {
        calls.push([contents.length, f, k]);
        return contents.slice(0, k);
      },
    });
    await runStrategy(strategy, nodes(), [0, 0]);
    // Called with n = 7, f = 1, θ = 7 − 2 = 5.
    expect(calls).toEqual([[7, 1, 5]]);
  });
});
