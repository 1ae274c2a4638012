import { describe, expect, it } from "vitest";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedMedian } from "./fed-median.ts";

describe("FedMedian", () => {
  it("takes the coordinate-wise median, unweighted", async () => {
    const nodes = [
      fakeNode({ arrays: [1, 10], metrics: { loss: 1, "num-examples": 1 } }),
      fakeNode({ arrays: [3, -2], metrics: { loss: 2, "num-examples": 1 } }),
      fakeNode({ arrays: [10, 4], metrics: { loss: 4, "num-examples": 2 } }),
    ];
    const { result } = await runStrategy(new FedMedian(), nodes, [0, 0]);
    // median of [1, 3, 10] = 3; median of [10, −2, 4] = 4. (The weight 2 plays no part.)
    expect(valuesOf(result.arrays)).toEqual([3, 4]);
    // Metrics are averaged as FedAvg's: (1·1 + 2·1 + 4·2) / 4 = 2.75.
    expect(result.trainMetricsClientapp.get(1)?.toObject()).toEqual({ loss: 2.75 });
  });

  it("averages the two middle values of an even count, as numpy", async () => {
    const nodes = [
      fakeNode({ arrays: [1, 2] }),
      fakeNode({ arrays: [2, 8] }),
      fakeNode({ arrays: [4, 0] }),
      fakeNode({ arrays: [100, 3] }),
    ];
    const { result } = await runStrategy(new FedMedian(), nodes, [0, 0]);
    // [1, 2, 4, 100] → (2 + 4)/2 = 3; [0, 2, 3, 8] → (2 + 3)/2 = 2.5.
    expect(valuesOf(result.arrays)).toEqual([3, 2.5]);
  });
});
