import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DP_MODE_NAMES } from "../examples/quickstart/privacy.ts";
import { initialModel } from "../examples/quickstart/task.ts";
import type { UserConfig } from "../src/flower-api/app/context.ts";
import type { ArrayRecord } from "../src/flower-api/records/array-record.ts";
import { runSimulation } from "../src/flower-api/simulation/run-simulation.ts";
import { setHostTrackingSink, type TrackingEvent } from "../src/tracking/index.ts";

// The DP wrappers report (ε, δ) to the host's tracking: here, a list, not a runs/ folder.
let events: TrackingEvent[] = [];
beforeAll(() => setHostTrackingSink({ write: (event) => void events.push(event) }));
afterAll(() => setHostTrackingSink(undefined));

const runs = new Map<string, ReturnType<typeof run>>();

/**
 * The quickstart in simulation, 3 nodes, seed 7, made small: 2 rounds of 50 examples; with
 * the rounds for which ε was reported. Each config runs once (tests share runs); await one
 * before starting the next, as the ε events of concurrent runs would mix.
 */
function simulate(runConfig: UserConfig): ReturnType<typeof run> {
  const key = JSON.stringify(runConfig);
  if (!runs.has(key)) runs.set(key, run(runConfig));
  return runs.get(key) as ReturnType<typeof run>;
}

async function run(runConfig: UserConfig) {
  events = [];
  const { result } = await runSimulation({
    appDir: "examples/quickstart",
    numNodes: 3,
    seed: 7,
    workers: 1,
    runConfig: { "num-server-rounds": 2, "samples-per-node": 50, ...runConfig },
  });
  if (result === undefined) throw new Error("the ServerApp returned no Result");
  const epsilonSteps = events
    .filter((e) => e.kind === "scalar" && e.tag === "privacy/epsilon")
    .map((e) => e.step);
  return Object.assign(result, { epsilonSteps });
}

const flat = (arrays: ArrayRecord) =>
  arrays.toTypedArrays().flatMap((a) => [...(a as Float32Array)]);
const maxDifference = (a: ArrayRecord, b: ArrayRecord) => {
  const [x, y] = [flat(a), flat(b)];
  expect(x).toHaveLength(y.length);
  return Math.max(...x.map((v, i) => Math.abs(v - (y[i] as number))));
};

/** Every round trained and evaluated, and a finite model that moved from the initial one. */
function expectCompleted(result: Awaited<ReturnType<typeof simulate>>) {
  expect([...result.trainMetricsClientapp.keys()]).toEqual([1, 2]);
  expect([...result.evaluateMetricsClientapp.keys()]).toEqual([1, 2]);
  const values = flat(result.arrays);
  expect(values.every(Number.isFinite)).toBe(true);
  const { weights, bias } = initialModel(7, 20);
  expect(values).not.toEqual([...weights, ...bias]);
}

describe("examples/quickstart: run config dp=", () => {
  let plain: Awaited<ReturnType<typeof simulate>>;
  beforeAll(async () => {
    plain = await simulate({});
  });

  it("names the modes, none the default", () => {
    expect(DP_MODE_NAMES).toEqual([
      "none",
      "server-fixed",
      "server-adaptive",
      "client-fixed",
      "client-adaptive",
      "local",
    ]);
  });

  it("none is the default, bit for bit", async () => {
    const none = await simulate({ dp: "none" });
    expect(flat(none.arrays)).toEqual(flat(plain.arrays));
    expect(none.epsilonSteps).toEqual([]);
  });

  it.each(["server-fixed", "server-adaptive", "client-fixed", "client-adaptive"])(
    "%s runs to completion, noised, with ε reported each round",
    async (dp) => {
      const result = await simulate({ dp });
      expectCompleted(result);
      expect(flat(result.arrays)).not.toEqual(flat(plain.arrays));
      expect(result.epsilonSteps).toEqual([1, 2]);
    },
  );

  it("client-fixed clips on the nodes: the same model as server-fixed, bit for bit", async () => {
    // Same clipping of the same updates, same noise (seeded by run seed and round); only
    // where the clipping happens differs. Without fixedClippingMod nothing would be clipped.
    const [server, client] = [
      await simulate({ dp: "server-fixed" }),
      await simulate({ dp: "client-fixed" }),
    ];
    expect(flat(client.arrays)).toEqual(flat(server.arrays));
  });

  it("client-adaptive: the nodes report norm_bit, and the model is server-adaptive's", async () => {
    const [server, client] = [
      await simulate({ dp: "server-adaptive" }),
      await simulate({ dp: "client-adaptive" }),
    ];
    // Every update is longer than the first norm, 0.5: all clipped.
    expect(client.trainMetricsClientapp.get(1)?.get("norm_bit")).toBe(1);
    expect(server.trainMetricsClientapp.get(1)?.get("norm_bit")).toBeUndefined();
    expect(maxDifference(client.arrays, server.arrays)).toBeLessThan(1e-6);
  });

  it("local noises each update on its node; the server reports no ε", async () => {
    const result = await simulate({ dp: "local" });
    expectCompleted(result);
    // The noise has stddev 0.48 per value on each node: far from the plain model.
    expect(maxDifference(result.arrays, plain.arrays)).toBeGreaterThan(0.05);
    expect(result.epsilonSteps).toEqual([]);
  });

  it("refuses an unknown dp value, naming the allowed ones", async () => {
    await expect(simulate({ dp: "central" })).rejects.toThrow(
      "unknown differential privacy \"central\" in run config 'dp'; allowed: none, server-fixed, server-adaptive, client-fixed, client-adaptive, local",
    );
  });
});

describe("examples/quickstart: run config secagg=true", () => {
  it("trains through SecAgg+: FedAvg's model up to quantization, not bit for bit", async () => {
    const [plain, secure] = [await simulate({}), await simulate({ secagg: true })];
    expectCompleted(secure);
    expect(flat(secure.arrays)).not.toEqual(flat(plain.arrays));
    expect(maxDifference(secure.arrays, plain.arrays)).toBeLessThan(1e-4);
  });

  it("with strategy=fedprox: FedProx's model up to quantization", async () => {
    const config = { strategy: "fedprox", "proximal-mu": 1 };
    const [plain, secure] = [await simulate(config), await simulate({ ...config, secagg: true })];
    expectCompleted(secure);
    expect(maxDifference(secure.arrays, plain.arrays)).toBeLessThan(1e-4);
  });

  it("with dp=client-fixed: updates are clipped before they are masked", async () => {
    // The DP mod inside secaggPlusMod: the secure sum of clipped updates, so client-fixed's
    // model up to quantization (noise included: it is seeded by run seed and round).
    const [plain, secure] = [
      await simulate({ dp: "client-fixed" }),
      await simulate({ dp: "client-fixed", secagg: true }),
    ];
    expectCompleted(secure);
    expect(secure.epsilonSteps).toEqual([1, 2]);
    expect(maxDifference(secure.arrays, plain.arrays)).toBeLessThan(1e-4);
  });

  it("refuses a secagg value other than true or false", async () => {
    // The run config check refuses it (secagg's default is false) before the app sees it.
    await expect(simulate({ secagg: "yes" })).rejects.toThrow(
      "run config: secagg=yes: expected true or false (the app's default is false)",
    );
  });
});
