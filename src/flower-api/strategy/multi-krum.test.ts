import { describe, expect, it } from "vitest";
import { fakeNode, honestAndOutlier, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedAvg } from "./fedavg.ts";
import { MultiKrum } from "./multi-krum.ts";

describe("MultiKrum", () => {
  it("averages the k best-scored replies, weighted, leaving the outlier out", async () => {
    const strategy = new MultiKrum({ numNodesToSelect: 3 });
    const { result } = await runStrategy(strategy, honestAndOutlier(), [0, 0]);
    // Scores (see honestAndOutlier): A 5, B 6, C 9, Z 345: keep A, B, C, weights 1, 1, 2:
    // [(1 + 2 + 2·1)/4, (1 + 1 + 2·3)/4] = [1.25, 2].
    expect(valuesOf(result.arrays)).toEqual([1.25, 2]);
    // Metrics of the kept ones: (1·1 + 2·1 + 3·2)/4 = 2.25 (Z's loss 100 left out).
    expect(result.trainMetricsClientapp.get(1)?.toObject()).toEqual({ loss: 2.25 });
    // FedAvg would be pulled by Z: (1 + 2 + 2 + 11)/5 = 3.2.
    const fedavg = await runStrategy(new FedAvg(), honestAndOutlier(), [0, 0]);
    expect(valuesOf(fedavg.result.arrays)[0]).toBeCloseTo(3.2, 5);
  });

  it("withstands numMaliciousNodes: f = 1 of 5, keeping 2", async () => {
    const nodes = [
      fakeNode({ arrays: [1, 1] }),
      fakeNode({ arrays: [2, 1] }),
      fakeNode({ arrays: [1, 3] }),
      fakeNode({ arrays: [3, 3] }),
      fakeNode({ arrays: [11, 11] }),
    ];
    const strategy = new MultiKrum({ numMaliciousNodes: 1, numNodesToSelect: 2 });
    const { result } = await runStrategy(strategy, nodes, [0, 0]);
    // n − f − 2 = 2 nearest. A=[1,1], B=[2,1], C=[1,3], D=[3,3]: AB 1, AC 4, AD 8, BC 5,
    // BD 5, CD 4; Z is ≥ 128 from all. A 1 + 4 = 5, B 1 + 5 = 6, C 4 + 4 = 8, D 4 + 5 = 9.
    // Keep A and B: [(1 + 2)/2, (1 + 1)/2] = [1.5, 1].
    expect(valuesOf(result.arrays)).toEqual([1.5, 1]);
  });
});
