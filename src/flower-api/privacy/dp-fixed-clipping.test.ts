import { describe, expect, it } from "vitest";
import { setHostTrackingSink } from "../../tracking/summary-writer.ts";
import type { TrackingEvent } from "../../tracking/tracking-event.ts";
import { ClientApp } from "../app/client-app.ts";
import { FedAvg } from "../strategy/fedavg.ts";
import { fixedClippingMod } from "./centraldp-mods.ts";
import {
  DifferentialPrivacyClientSideFixedClipping,
  DifferentialPrivacyServerSideFixedClipping,
} from "./dp-fixed-clipping.ts";
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

const epsilonAfter = (q: number, z: number, rounds: number, delta = 1e-5) =>
  getPrivacySpent(DEFAULT_RDP_ORDERS, computeRdp(q, z, rounds), delta).epsilon;

describe("DifferentialPrivacyServerSideFixedClipping", () => {
  it("adds noise of stddev z·C/m to the aggregate (chi-square bound)", async () => {
    const strategy = new DifferentialPrivacyServerSideFixedClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 1.5, clippingNorm: 0.6, numSampledClients: 3, writer: false },
    );
    // z·C/m = 1.5·0.6/3 = 0.3.
    expectNormalSamples(await noiseOfOneRound(strategy, 3), 0.3);
  });

  it("clips each update to the clipping norm before averaging (worked by hand, no noise)", async () => {
    const { grid } = loggingGrid();
    grid.addNode(updatingNode([6, 8])); // norm 10: clipped to [0.6, 0.8]
    grid.addNode(updatingNode([0.03, 0.04])); // norm 0.05: kept
    grid.addNode(updatingNode([0, 0]));
    const strategy = new DifferentialPrivacyServerSideFixedClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 0, clippingNorm: 1, numSampledClients: 3, writer: false },
    );
    const result = await strategy.start({ grid, initialArrays: model([1, 1]), numRounds: 1 });
    // 1 + (0.6 + 0.03 + 0)/3 = 1.21 and 1 + (0.8 + 0.04 + 0)/3 = 1.28 (float32).
    const [w0, w1] = valuesOf(result.arrays);
    expect(w0).toBeCloseTo(1.21, 6);
    expect(w1).toBeCloseTo(1.28, 6);
  });

  it("reports (ε, δ) after each round to the run log and to tracking", async () => {
    const { grid, lines } = loggingGrid();
    for (let i = 0; i < 4; i++) grid.addNode(updatingNode([0.1, -0.1]));
    const { writer, scalars } = memoryWriter();
    // Two of four nodes each round (FedAvg samples max(⌊4·0.5⌋, 2)): sampling rate 0.5.
    const strategy = new DifferentialPrivacyServerSideFixedClipping(
      new FedAvg({ fractionTrain: 0.5, fractionEvaluate: 0 }),
      { noiseMultiplier: 1.1, clippingNorm: 1, numSampledClients: 2, writer },
    );
    await strategy.start({ grid, initialArrays: model([0, 0]), numRounds: 3 });
    const epsilons = scalars("privacy/epsilon");
    expect([...epsilons.keys()]).toEqual([1, 2, 3]);
    for (const round of [1, 2, 3])
      expect(epsilons.get(round)).toBeCloseTo(epsilonAfter(0.5, 1.1, round), 12);
    expect(scalars("privacy/delta").get(3)).toBe(1e-5);
    expect(scalars("privacy/noise-stddev").get(1)).toBeCloseTo(0.55, 15);
    expect(strategy.privacySpent?.epsilon).toBe(epsilons.get(3));
    const privacyLines = lines.filter((line) => line.startsWith("privacy: (ε = "));
    expect(privacyLines).toHaveLength(3);
    expect(privacyLines[2]).toContain(`ε = ${epsilonAfter(0.5, 1.1, 3).toFixed(4)}, δ = 0.00001`);
    expect(lines).toContain("  DP settings:");
  });

  it("logs to the host's tracking by default (a run with --out, a deployment, the bridge)", async () => {
    const events: TrackingEvent[] = [];
    setHostTrackingSink({ write: (event) => void events.push(event) });
    try {
      const { grid } = loggingGrid();
      for (let i = 0; i < 2; i++) grid.addNode(updatingNode([0.1]));
      const strategy = new DifferentialPrivacyServerSideFixedClipping(
        new FedAvg({ fractionEvaluate: 0 }),
        { noiseMultiplier: 1, clippingNorm: 1, numSampledClients: 2 },
      );
      await strategy.start({ grid, initialArrays: model([0]), numRounds: 2 });
    } finally {
      setHostTrackingSink(undefined);
    }
    const epsilons = events.filter((e) => e.kind === "scalar" && e.tag === "privacy/epsilon");
    expect(epsilons.map((e) => e.step)).toEqual([1, 2]);
    expect(epsilons.map((e) => (e.kind === "scalar" ? e.value : 0))).toEqual([
      epsilonAfter(1, 1, 1),
      epsilonAfter(1, 1, 2),
    ]);
  });

  it("reports ε = ∞ to the log, and no epsilon to tracking, without noise", async () => {
    const { grid, lines } = loggingGrid();
    for (let i = 0; i < 2; i++) grid.addNode(updatingNode([0.1]));
    const { writer, scalars } = memoryWriter();
    const strategy = new DifferentialPrivacyServerSideFixedClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 0, clippingNorm: 1, numSampledClients: 2, writer },
    );
    await strategy.start({ grid, initialArrays: model([0]), numRounds: 1 });
    expect(scalars("privacy/epsilon").size).toBe(0);
    expect(lines.some((line) => line.includes("ε = ∞ after 1 rounds"))).toBe(true);
  });

  it("draws its noise from the run seed: the same seed gives the same model", async () => {
    const run = async (seed: number) => {
      const { grid } = loggingGrid(seed);
      for (let i = 0; i < 2; i++) grid.addNode(updatingNode([0.5, 0.5, 0.5]));
      const strategy = new DifferentialPrivacyServerSideFixedClipping(
        new FedAvg({ fractionEvaluate: 0 }),
        { noiseMultiplier: 1, clippingNorm: 1, numSampledClients: 2, writer: false },
      );
      const result = await strategy.start({ grid, initialArrays: model([0, 0, 0]), numRounds: 2 });
      return [...valuesOf(result.arrays)];
    };
    expect(await run(1)).toEqual(await run(1));
    expect(await run(1)).not.toEqual(await run(2));
  });

  it("skips aggregation when a node fails, as Flower does", async () => {
    const { grid, lines } = loggingGrid();
    grid.addNode(updatingNode([1]));
    grid.addNode(
      new ClientApp().train(() => {
        throw new TypeError("broken node");
      }),
    );
    const strategy = new DifferentialPrivacyServerSideFixedClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 1, clippingNorm: 1, numSampledClients: 2, writer: false },
    );
    const result = await strategy.start({ grid, initialArrays: model([3]), numRounds: 1 });
    expect([...valuesOf(result.arrays)]).toEqual([3]);
    expect(lines).toContain("aggregate_train: Some clients reported errors. Skipping aggregation.");
    expect(strategy.privacySpent).toBeUndefined();
  });

  it("refuses invalid parameters as Flower does", () => {
    const make = (options: {
      noiseMultiplier: number;
      clippingNorm: number;
      numSampledClients: number;
    }) => new DifferentialPrivacyServerSideFixedClipping(new FedAvg(), options);
    expect(() => make({ noiseMultiplier: -1, clippingNorm: 1, numSampledClients: 1 })).toThrow(
      /noise multiplier/,
    );
    expect(() => make({ noiseMultiplier: 1, clippingNorm: 0, numSampledClients: 1 })).toThrow(
      /clipping norm/,
    );
    expect(() => make({ noiseMultiplier: 1, clippingNorm: 1, numSampledClients: 0 })).toThrow(
      /sampled clients/,
    );
  });
});

describe("DifferentialPrivacyClientSideFixedClipping with fixedClippingMod", () => {
  it("has the nodes clip to the norm it sends, and noises the aggregate", async () => {
    const { grid } = loggingGrid();
    grid.addNode(updatingNode([6, 8], [fixedClippingMod])); // clipped to [0.6, 0.8] on the node
    grid.addNode(updatingNode([0.03, 0.04], [fixedClippingMod]));
    grid.addNode(updatingNode([0, 0], [fixedClippingMod]));
    const { writer, scalars } = memoryWriter();
    const strategy = new DifferentialPrivacyClientSideFixedClipping(new FedAvg(), {
      noiseMultiplier: 0,
      clippingNorm: 1,
      numSampledClients: 3,
      writer,
    });
    const result = await strategy.start({ grid, initialArrays: model([1, 1]), numRounds: 1 });
    const [w0, w1] = valuesOf(result.arrays);
    expect(w0).toBeCloseTo(1.21, 6);
    expect(w1).toBeCloseTo(1.28, 6);
    // Evaluate messages carry no clipping norm: the mod passes them through.
    expect(result.evaluateMetricsClientapp.get(1)?.get("loss")).toBe(0);
    expect(scalars("privacy/clipping-norm").get(1)).toBe(1);
  });

  it("adds noise of stddev z·C/m to the aggregate (chi-square bound)", async () => {
    const strategy = new DifferentialPrivacyClientSideFixedClipping(
      new FedAvg({ fractionEvaluate: 0 }),
      { noiseMultiplier: 2, clippingNorm: 0.1, numSampledClients: 4, writer: false },
    );
    const noise = await noiseOfOneRound(strategy, 4, { seed: 3, mods: [fixedClippingMod] });
    expectNormalSamples(noise, (2 * 0.1) / 4);
    // All four nodes sampled: q = 1, one round of the Gaussian mechanism.
    expect(strategy.privacySpent?.epsilon).toBeCloseTo(epsilonAfter(1, 2, 1), 12);
  });
});
