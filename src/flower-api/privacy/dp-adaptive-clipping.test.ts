import { describe, expect, it } from "vitest";
import { FedAvg } from "../strategy/fedavg.ts";
import { adaptiveClippingMod } from "./centraldp-mods.ts";
import {
  DifferentialPrivacyClientSideAdaptiveClipping,
  DifferentialPrivacyServerSideAdaptiveClipping,
} from "./dp-adaptive-clipping.ts";
import {
  expectNormalSamples,
  loggingGrid,
  memoryWriter,
  model,
  noiseOfOneRound,
  updatingNode,
  valuesOf,
} from "./dp-test-helpers.ts";
import { computeRdp, DEFAULT_RDP_ORDERS, getPrivacySpent } from "./rdp-accountant.ts";

describe("DifferentialPrivacyServerSideAdaptiveClipping", () => {
  it("updates the clipping norm as Flower's formula says (worked by hand)", async () => {
    const { grid } = loggingGrid();
    grid.addNode(updatingNode([0.03, 0.04])); // norm 0.05
    grid.addNode(updatingNode([0.12, 0.16])); // norm 0.2
    grid.addNode(updatingNode([0.3, 0.4])); // norm 0.5
    const { writer, scalars } = memoryWriter();
    // No noise: σ_b defaults to 0, so the clipped fraction is exact.
    const strategy = new DifferentialPrivacyServerSideAdaptiveClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 0, numSampledClients: 3, writer },
    );
    expect(strategy.clippingNorm).toBe(0.1); // Flower's default initial norm
    const result = await strategy.start({ grid, initialArrays: model([0, 0]), numRounds: 2 });
    // Round 1, C = 0.1: norms 0.2 and 0.5 are clipped, b = 2/3, so
    // C ← 0.1·exp(−0.2·(2/3 − 0.5)) = 0.1·exp(−1/30) = 0.0967216100482006.
    // Round 2, C = 0.09672: the same two are clipped: C ← 0.1·exp(−2/30) = 0.09355069850316178.
    const norms = scalars("privacy/clipping-norm"); // the norm each round clipped with
    expect(norms.get(1)).toBe(0.1);
    expect(norms.get(2)).toBeCloseTo(0.0967216100482006, 15);
    expect(strategy.clippingNorm).toBeCloseTo(0.09355069850316178, 15);
    // The model: round 1 averages [0.03, 0.04], [0.06, 0.08], [0.06, 0.08] = [0.05, 0.2/3];
    // round 2 adds the average of [0.03, 0.04] and twice C₂·[0.6, 0.8] (the two clipped).
    const c2 = 0.0967216100482006;
    const [w0, w1] = valuesOf(result.arrays);
    expect(w0).toBeCloseTo(0.05 + (0.03 + 2 * 0.6 * c2) / 3, 6);
    expect(w1).toBeCloseTo(0.2 / 3 + (0.04 + 2 * 0.8 * c2) / 3, 6);
  });

  it("noises the count with σ_b from the run seed: reproducible, and a different seed differs", async () => {
    const run = async (seed: number) => {
      const { grid } = loggingGrid(seed);
      for (let i = 0; i < 20; i++) grid.addNode(updatingNode([0.01 + i / 50]));
      // z = 0.5, m = 20: σ_b = 1 and z_Δ = 0.5164.
      const strategy = new DifferentialPrivacyServerSideAdaptiveClipping(
        new FedAvg({ fractionEvaluate: 0 }),
        { noiseMultiplier: 0.5, numSampledClients: 20, writer: false },
      );
      await strategy.start({ grid, initialArrays: model([0]), numRounds: 1 });
      expect(strategy.noiseMultiplier).toBeCloseTo(0.5163977794943223, 14);
      expect(strategy.clippedCountStddev).toBe(1);
      return strategy.clippingNorm;
    };
    const first = await run(1);
    expect(await run(1)).toBe(first);
    expect(await run(2)).not.toBe(first);
    // Norms 0.01 … 0.39 against C = 0.1: 15 of 20 clipped, b = (15 + N(0, 1))/20; six σ_b
    // either side bound the new norm.
    expect(first).toBeLessThan(0.1 * Math.exp(-0.2 * ((15 - 6) / 20 - 0.5)));
    expect(first).toBeGreaterThan(0.1 * Math.exp(-0.2 * ((15 + 6) / 20 - 0.5)));
    expect(first).not.toBeCloseTo(0.1 * Math.exp(-0.2 * (15 / 20 - 0.5)), 12); // noise was added
  });

  it("noises the aggregate with z_Δ·C/m for the norm that clipped, and accounts with z", async () => {
    const strategy = new DifferentialPrivacyServerSideAdaptiveClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 0.5, numSampledClients: 20, initialClippingNorm: 2, writer: false },
    );
    const noise = await noiseOfOneRound(strategy, 20, { seed: 5 });
    // z_Δ·C/m = 0.5163977794943223·2/20, with C the norm of round 1, not the updated one.
    expectNormalSamples(noise, (0.5163977794943223 * 2) / 20);
    expect(strategy.privacySpent?.epsilon).toBeCloseTo(
      getPrivacySpent(DEFAULT_RDP_ORDERS, computeRdp(1, 0.5, 1), 1e-5).epsilon,
      12,
    );
  });

  it("refuses parameters as Flower does", () => {
    const make = (options: Partial<{ noiseMultiplier: number; targetClippedQuantile: number }>) =>
      new DifferentialPrivacyServerSideAdaptiveClipping(new FedAvg(), {
        noiseMultiplier: 0,
        numSampledClients: 10,
        ...options,
      });
    // z = 1, m = 10: σ_b = 10/20 = 0.5 and z ≥ 2σ_b.
    expect(() => make({ noiseMultiplier: 1 })).toThrow(/clippedCountStddev/);
    expect(() => make({ targetClippedQuantile: 1.5 })).toThrow(/quantile/);
  });
});

describe("DifferentialPrivacyClientSideAdaptiveClipping with adaptiveClippingMod", () => {
  it("updates the norm from the nodes' norm bits (worked by hand)", async () => {
    const { grid } = loggingGrid();
    for (let i = 0; i < 3; i++) grid.addNode(updatingNode([3, 4], [adaptiveClippingMod])); // norm 5
    grid.addNode(updatingNode([0.3, 0.4], [adaptiveClippingMod])); // norm 0.5
    const strategy = new DifferentialPrivacyClientSideAdaptiveClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 0, numSampledClients: 4, initialClippingNorm: 1, writer: false },
    );
    const result = await strategy.start({ grid, initialArrays: model([0, 0]), numRounds: 1 });
    // Bits 1, 1, 1, 0: b = 0.75, C ← 1·exp(−0.2·(0.75 − 0.5)) = exp(−0.05) = 0.951229424500714.
    expect(strategy.clippingNorm).toBeCloseTo(0.951229424500714, 15);
    // FedAvg averages the bits with the other metrics, as in Flower.
    expect(result.trainMetricsClientapp.get(1)?.get("norm_bit")).toBe(0.75);
    // Clipped on the nodes to norm 1: (3·[0.6, 0.8] + [0.3, 0.4])/4 = [0.525, 0.7].
    const [w0, w1] = valuesOf(result.arrays);
    expect(w0).toBeCloseTo(0.525, 6);
    expect(w1).toBeCloseTo(0.7, 6);
  });

  it("fails when a reply has no norm bit (no adaptiveClippingMod on the node)", async () => {
    const { grid } = loggingGrid();
    for (let i = 0; i < 2; i++) grid.addNode(updatingNode([1]));
    const strategy = new DifferentialPrivacyClientSideAdaptiveClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 0, numSampledClients: 2, writer: false },
    );
    await expect(strategy.start({ grid, initialArrays: model([0]), numRounds: 1 })).rejects.toThrow(
      /norm_bit/,
    );
  });
});
