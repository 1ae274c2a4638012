import { describe, expect, it } from "vitest";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { QFedAvg } from "./q-fed-avg.ts";

describe("QFedAvg", () => {
  it("moves the model by Σ Δ_k / Σ h_k (worked by hand)", async () => {
    const nodes = [
      fakeNode({ arrays: [0.5, 1], metrics: { train_loss: 1, "num-examples": 1 } }),
      fakeNode({ arrays: [1, 2], metrics: { train_loss: 4, "num-examples": 3 } }),
    ];
    const strategy = new QFedAvg({ clientLearningRate: 0.5, q: 0.5 });
    const { result } = await runStrategy(strategy, nodes, [1, 1]);
    // L = 1/0.5 = 2, global w = [1, 1], q = 0.5 (the 1e-10 added to each loss is negligible).
    // Node 1, F = 1: grad = L·(w − w₁) = 2·[0.5, 0] = [1, 0]; ‖grad‖² = 1;
    //   Δ₁ = F^q·grad = [1, 0]; h₁ = q·F^(q−1)·‖grad‖² + L·F^q = 0.5·1·1 + 2·1 = 2.5.
    // Node 2, F = 4: grad = 2·[0, −1] = [0, −2]; ‖grad‖² = 4;
    //   Δ₂ = 4^0.5·grad = [0, −4]; h₂ = 0.5·4^(−0.5)·4 + 2·4^0.5 = 1 + 4 = 5.
    // w' = w − (Δ₁ + Δ₂)/(h₁ + h₂) = [1 − 1/7.5, 1 + 4/7.5] = [0.8666667, 1.5333333].
    // (Unweighted by num-examples: the weights 1 and 3 play no part.)
    const [a, b] = valuesOf(result.arrays);
    expect(a).toBeCloseTo(0.8666667, 6);
    expect(b).toBeCloseTo(1.5333333, 6);
    // Metrics as FedAvg's: (1·1 + 4·3)/4 = 3.25.
    expect(result.trainMetricsClientapp.get(1)?.toObject()).toEqual({ train_loss: 3.25 });
  });

  it("with q = 0 and L = 1 gives the plain mean of the replies", async () => {
    const nodes = [
      fakeNode({ arrays: [2, 0], metrics: { train_loss: 5, "num-examples": 1 } }),
      fakeNode({ arrays: [4, 2], metrics: { train_loss: 5, "num-examples": 1 } }),
    ];
    const { result } = await runStrategy(
      new QFedAvg({ clientLearningRate: 1, q: 0 }),
      nodes,
      [0, 0],
    );
    // q = 0: Δ_k = L·(w − w_k), h_k = L = 1: w' = w − Σ(w − w_k)/2 = the mean [3, 1].
    const [a, b] = valuesOf(result.arrays);
    expect(a).toBeCloseTo(3, 6);
    expect(b).toBeCloseTo(1, 6);
  });

  it("needs the training loss under trainLossKey", async () => {
    const nodes = [fakeNode({ arrays: [1] }), fakeNode({ arrays: [2] })];
    await expect(runStrategy(new QFedAvg({ clientLearningRate: 0.1 }), nodes, [0])).rejects.toThrow(
      /training loss as a number under 'train_loss'/,
    );
  });
});
