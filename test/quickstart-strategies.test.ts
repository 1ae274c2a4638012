import { describe, expect, it } from "vitest";
import { STRATEGY_NAMES } from "../examples/quickstart/strategies.ts";
import { type Dataset, initialModel, train } from "../examples/quickstart/task.ts";
import { createRng } from "../src/core/numeric/random.ts";
import type { UserConfig } from "../src/flower-api/app/context.ts";
import type { ArrayRecord } from "../src/flower-api/records/array-record.ts";
import { runSimulation } from "../src/flower-api/simulation/run-simulation.ts";

/** The quickstart in simulation, 3 nodes, seed 7, made small: 2 rounds of 50 examples. */
async function simulate(runConfig: UserConfig, numNodes = 3) {
  const { result } = await runSimulation({
    appDir: "examples/quickstart",
    numNodes,
    seed: 7,
    workers: 1,
    runConfig: { "num-server-rounds": 2, "samples-per-node": 50, ...runConfig },
  });
  if (result === undefined) throw new Error("the ServerApp returned no Result");
  return result;
}

const flat = (arrays: ArrayRecord) =>
  arrays.toTypedArrays().flatMap((a) => [...(a as Float32Array)]);

describe("examples/quickstart: run config strategy=", () => {
  it("names the twelve strategies", () => {
    expect(STRATEGY_NAMES).toEqual([
      "fedavg",
      "fedprox",
      "fedadam",
      "fedyogi",
      "fedadagrad",
      "fedavgm",
      "fedmedian",
      "fedtrimmedavg",
      "krum",
      "multikrum",
      "bulyan",
      "qfedavg",
    ]);
  });

  it.each(STRATEGY_NAMES)("runs %s to completion, every round aggregated", async (strategy) => {
    const result = await simulate({ strategy });
    expect([...result.trainMetricsClientapp.keys()]).toEqual([1, 2]);
    expect([...result.evaluateMetricsClientapp.keys()]).toEqual([1, 2]);
    // It learns: below the loss of a coin flip, ln 2 = 0.693, which the initial model
    // (weights near 0) scores.
    expect(result.evaluateMetricsClientapp.get(2)?.get("eval-loss")).toBeLessThan(0.69);
    const values = flat(result.arrays);
    expect(values.every(Number.isFinite)).toBe(true);
    // The model moved from the initial one (seed 7, 20 features).
    const { weights, bias } = initialModel(7, 20);
    expect(values).not.toEqual([...weights, ...bias]);
  });

  it("defaults to fedavg, and FedProx with mu 0 takes the same SGD steps bit for bit", async () => {
    const [none, fedavg, prox0, prox] = await Promise.all([
      simulate({}),
      simulate({ strategy: "fedavg" }),
      simulate({ strategy: "fedprox", "proximal-mu": 0 }),
      simulate({ strategy: "fedprox", "proximal-mu": 1 }),
    ]);
    expect(flat(fedavg.arrays)).toEqual(flat(none.arrays));
    expect(flat(prox0.arrays)).toEqual(flat(none.arrays));
    // A real proximal term changes the local steps, so the model.
    expect(flat(prox.arrays)).not.toEqual(flat(none.arrays));
  });

  it("runs bulyan with num-malicious-nodes=1 on 7 nodes (4f + 3)", async () => {
    const result = await simulate({ strategy: "bulyan", "num-malicious-nodes": 1 }, 7);
    expect([...result.trainMetricsClientapp.keys()]).toEqual([1, 2]);
  });

  it("refuses an unknown strategy, naming the allowed ones", async () => {
    await expect(simulate({ strategy: "fedsgd" })).rejects.toThrow(
      "unknown strategy \"fedsgd\" in run config 'strategy'; allowed: fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedavgm, fedmedian, fedtrimmedavg, krum, multikrum, bulyan, qfedavg",
    );
  });
});

describe("examples/quickstart: train with FedProx's proximal term", () => {
  it("adds lr·mu·(w − w_global) to each SGD step (worked by hand)", () => {
    // One example x = [0], y = 1; model w = [1], b = 0; global model w = [0], b = 0.
    const data: Dataset = {
      features: new Float32Array([0]),
      labels: new Float32Array([1]),
      numExamples: 1,
      numFeatures: 1,
    };
    const step = (mu?: number) => {
      const model = { weights: new Float32Array([1]), bias: new Float32Array([0]) };
      const globalModel = { weights: new Float32Array([0]), bias: new Float32Array([0]) };
      const proximal = mu === undefined ? undefined : { mu, globalModel };
      train(model, data, 1, 0.5, createRng(0, "t"), proximal);
      return [model.weights[0], model.bias[0]];
    };
    // p = sigmoid(0 + 1·0) = 0.5, g = lr·(p − y) = 0.5·(0.5 − 1) = −0.25; x = 0, so the
    // data moves only the bias: b = 0 − g = 0.25, w stays 1.
    expect(step()).toEqual([1, 0.25]);
    // Proximal, mu 0.5: w = 1 − 0·g − lr·mu·(1 − 0) = 1 − 0.25 = 0.75; the bias is at its
    // global value, so its pull is 0: b = 0.25.
    expect(step(0.5)).toEqual([0.75, 0.25]);
  });
});
