import { describe, expect, it } from "vitest";
import { createRng } from "../../core/numeric/random.ts";
import { ClientApp } from "../app/client-app.ts";
import type { Grid } from "../app/grid.ts";
import type { Mod } from "../app/mod.ts";
import type { RunObserver } from "../app/run-observer.ts";
import { Message } from "../message/message.ts";
import { encodeMessage } from "../message/message-serde.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import { FedAvg } from "../strategy/fedavg.ts";
import { CONFIGS_KEY, Stage } from "./protocol.ts";
import { quantizeUpdate } from "./quantization.ts";
import { SecAggPlusGrid } from "./secagg-plus-grid.ts";
import { secaggPlusMod } from "./secagg-plus-mod.ts";
import { resolveSecAggPlusOptions, type SecAggPlusOptions } from "./secagg-plus-options.ts";

const WEIGHTS = [50, 120, 80, 300, 200, 150, 90];
const SHAPES = [[40, 25], [25]];
/**
 * Seconds before a node that hangs is given up on: long enough that no node that only runs
 * slowly on a loaded machine is taken for dropped.
 */
const TIMEOUT = 10;
/** 6 nodes, all neighbours, threshold 4. */
const SECURE: SecAggPlusOptions = { numShares: 6, reconstructionThreshold: 4, timeout: TIMEOUT };

/** Node i's update: fixed arrays in [−1, 1), so runs can be compared. */
function update(i: number): ArrayRecord {
  const rng = createRng("secagg-test-update", i);
  return ArrayRecord.fromTypedArrays(
    SHAPES.map((shape) => ({
      values: Float32Array.from(
        { length: shape.reduce((a, b) => a * b) },
        () => 2 * rng.next() - 1,
      ),
      shape,
    })),
  );
}

type Behaviour = "ok" | "throws" | "hangs";

/** A real ClientApp whose train handler answers node i's update, fails, or never answers. */
function app(i: number, behaviour: Behaviour, mods: readonly Mod[]): ClientApp {
  return new ClientApp({ mods })
    .train((msg) => {
      if (behaviour === "throws") throw new TypeError(`node ${i} crashed while training`);
      if (behaviour === "hangs") return new Promise<Message>(() => {});
      const metrics = new MetricRecord({ loss: i + 0.5, "num-examples": WEIGHTS[i] as number });
      return new Message(new RecordDict({ arrays: update(i), metrics }), { replyTo: msg });
    })
    .evaluate(
      (msg) =>
        new Message(new RecordDict({ metrics: new MetricRecord({ acc: i, "num-examples": 1 }) }), {
          replyTo: msg,
        }),
    );
}

/** A mod, outside secaggPlusMod, that makes the node fail at one SecAgg+ stage. */
const failAt =
  (stage: string): Mod =>
  (msg, context, next) => {
    if (msg.content.configRecords.get(CONFIGS_KEY)?.get("stage") === stage) {
      throw new TypeError(`dropped at ${stage}`);
    }
    return next(msg, context);
  };

/** An InMemoryGrid of nodes; `secure` adds secaggPlusMod to every ClientApp. */
function makeGrid(
  behaviours: readonly Behaviour[],
  secure: boolean,
  extra: Mod[][] = [],
): InMemoryGrid {
  const grid = new InMemoryGrid({ runId: 7n, runConfig: { seed: 3 } });
  behaviours.forEach((b, i) => {
    grid.addNode(app(i, b, [...(extra[i] ?? []), ...(secure ? [secaggPlusMod] : [])]));
  });
  return grid;
}

const initial = () =>
  ArrayRecord.fromTypedArrays(
    SHAPES.map((shape) => ({ values: new Float32Array(shape.reduce((a, b) => a * b)), shape })),
  );

async function train(grid: Grid, numRounds = 1) {
  return new FedAvg({ fractionEvaluate: 0, minTrainNodes: 2 }).start({
    grid,
    initialArrays: initial(),
    numRounds,
    timeout: TIMEOUT,
  });
}

function flat(record: ArrayRecord): Float64Array {
  return Float64Array.from(record.toTypedArrays().flatMap((a) => [...(a as Float32Array)]));
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, k) => Math.max(m, Math.abs(v - (b[k] as number))), 0);
}

/** The weighted average of the nodes' updates, in float64. */
function weightedAverage(
  nodes: readonly number[],
  weightOf = (i: number) => WEIGHTS[i] as number,
): Float64Array {
  const total = nodes.reduce((s, i) => s + weightOf(i), 0);
  const out = new Float64Array(flat(update(0)).length);
  for (const i of nodes) {
    flat(update(i)).forEach((v, k) => {
      out[k] = (out[k] as number) + (v * weightOf(i)) / total;
    });
  }
  return out;
}

/**
 * How far the secure aggregate may be from the plain weighted average (defaults c = 8,
 * T = 2^22, maxWeight M = 1000, values |x| ≤ 1). Node i's weight w becomes d = round(wT/M)/T,
 * off by at most 1/(2T) of w/M (relative error ε ≤ M/(2Tw)); it sends d·x quantized in steps
 * of 2c/T, stochastic rounding off by less than one step. The server divides the sum by Σd:
 *   |error| < n · (2c/T) / Σd  +  2·ε_max·max|x| / (1 − ε_max)  +  1e-6 (float32 rounding).
 */
function quantizationBound(nodes: readonly number[]): number {
  const T = 2 ** 22;
  const c = 8;
  const M = 1000;
  const d = nodes.map((i) => Math.round(((WEIGHTS[i] as number) / M) * T) / T);
  const sumD = d.reduce((a, b) => a + b, 0);
  const eps = Math.max(
    ...nodes.map((i, j) => Math.abs((d[j] as number) / ((WEIGHTS[i] as number) / M) - 1)),
  );
  return (nodes.length * (2 * c)) / T / sumD + (2 * eps) / (1 - eps) + 1e-6;
}

describe("SecAgg+ (SecAggPlusGrid and secaggPlusMod)", () => {
  it.each([{ dropped: [] as number[] }, { dropped: [2] }, { dropped: [1, 4] }])(
    "gives plain FedAvg's weighted average within the quantization bound when $dropped.length of 6 nodes drop after key sharing",
    async ({ dropped }) => {
      // The dropped nodes fail in their train handler, which runs only after key sharing
      // (collect_masked_vectors); the second one never answers, and its stage times out.
      const behaviours = Array.from(
        { length: 6 },
        (_, i): Behaviour => (dropped[0] === i ? "throws" : dropped[1] === i ? "hangs" : "ok"),
      );
      const plain = await train(makeGrid(behaviours, false));
      const secure = await train(new SecAggPlusGrid(makeGrid(behaviours, true), SECURE));

      const survivors = [0, 1, 2, 3, 4, 5].filter((i) => !dropped.includes(i));
      const bound = quantizationBound(survivors);
      expect(bound).toBeLessThan(1e-4);
      const error = maxDiff(flat(secure.arrays), flat(plain.arrays));
      expect(error).toBeLessThan(bound);
      expect(maxDiff(flat(plain.arrays), weightedAverage(survivors))).toBeLessThan(1e-6);
      // The weights matter: the unweighted mean is far outside the bound.
      const mean = weightedAverage(survivors, () => 1);
      expect(maxDiff(flat(secure.arrays), mean)).toBeGreaterThan(100 * bound);
      // The nodes' own metrics reach the strategy as without SecAgg+.
      expect(secure.trainMetricsClientapp.get(1)?.get("loss")).toBeCloseTo(
        plain.trainMetricsClientapp.get(1)?.get("loss") as number,
        12,
      );
    },
  );

  it("fails the run with a clear error when 3 of 6 nodes drop after key sharing (threshold 4)", async () => {
    const lines: string[] = [];
    const observer: RunObserver = {
      roundStarted() {},
      roundFinished() {},
      log: (line) => lines.push(line),
    };
    const grid = makeGrid(["ok", "throws", "ok", "throws", "ok", "throws"], true);
    const failure = await train(new SecAggPlusGrid(Object.assign(grid, { observer }), SECURE)).then(
      () => "no failure",
      (error: Error) => error.message,
    );
    expect(failure).toMatch(
      /round 1: none of the 6 train replies succeeded: node \d+: UNKNOWN: SecAgg\+ round aborted: after stage collect_masked_vectors, node \d+ has 3 live neighbours \(itself included\), fewer than reconstructionThreshold 4/,
    );
    expect(failure).toMatch(/SecAgg\+ collect_masked_vectors: node \d crashed while training/);
    expect(lines.join("\n")).toMatch(
      /SecAgg\+ round 1 aborted: after stage collect_masked_vectors, node \d+ has 3 live neighbours \(itself included\), fewer than reconstructionThreshold 4: 3 of the 6 nodes dropped/,
    );
  });

  it("never lets the server hold a single node's plain, weighted or quantized update", async () => {
    // Every message the server receives, as the bytes it gets.
    const received = (inner: InMemoryGrid) => {
      const seen: Buffer[] = [];
      const sendAndReceive = inner.sendAndReceive.bind(inner);
      inner.sendAndReceive = async (messages, options) => {
        const replies = await sendAndReceive(messages, options);
        for (const reply of replies) seen.push(Buffer.from(encodeMessage(reply)));
        return replies;
      };
      return seen;
    };
    // 32-byte windows of each form a node's update could take on the server.
    const fingerprints = (i: number): Buffer[] => {
      const values = flat(update(i));
      const w = WEIGHTS[i] as number;
      const d = Math.round((w / 1000) * 2 ** 22) / 2 ** 22;
      const quantized = quantizeUpdate(update(i), w, { ...resolveSecAggPlusOptions(SECURE) }, "3");
      return [
        Float32Array.from(values),
        values,
        Float32Array.from(values, (v) => v * d),
        values.map((v) => v * d),
        Float32Array.from(values, (v) => v * w),
        quantized,
      ].map((a) => Buffer.from(a.buffer, a.byteOffset + 400, 32));
    };
    const leaks = (seen: readonly Buffer[], nodes: readonly number[]) =>
      nodes.filter((i) => fingerprints(i).some((f) => seen.some((bytes) => bytes.includes(f))));

    // The check finds the updates in plain FedAvg's replies...
    const plainGrid = makeGrid(Array(6).fill("ok"), false);
    const plainSeen = received(plainGrid);
    await train(plainGrid);
    expect(leaks(plainSeen, [0, 1, 2, 3, 4, 5])).toEqual([0, 1, 2, 3, 4, 5]);

    // ...and none in any message of a SecAgg+ round, with a node dropped after key sharing
    // (the server reconstructs its key) and one dropped at unmask.
    const behaviours: Behaviour[] = ["ok", "ok", "throws", "ok", "ok", "ok"];
    const secureGrid = makeGrid(behaviours, true, [[], [], [], [], [failAt(Stage.UNMASK)]]);
    const secureSeen = received(secureGrid);
    const secure = await train(new SecAggPlusGrid(secureGrid, SECURE));
    expect(secureSeen.length).toBe(6 + 6 + 6 + 5);
    expect(leaks(secureSeen, [0, 1, 2, 3, 4, 5])).toEqual([]);
    expect(maxDiff(flat(secure.arrays), weightedAverage([0, 1, 3, 4, 5]))).toBeLessThan(
      quantizationBound([0, 1, 3, 4, 5]),
    );
  });

  it("leaves out a node that drops before key sharing and keeps one that drops at unmask", async () => {
    const grid = makeGrid(Array(6).fill("ok"), true, [
      [failAt(Stage.SETUP)],
      [],
      [failAt(Stage.SHARE_KEYS)],
      [failAt(Stage.UNMASK)],
    ]);
    const secure = await train(new SecAggPlusGrid(grid, { ...SECURE, reconstructionThreshold: 3 }));
    const included = [1, 3, 4, 5];
    expect(maxDiff(flat(secure.arrays), weightedAverage(included))).toBeLessThan(
      quantizationBound(included),
    );
  });

  it("works on a ring of neighbours (numShares below the node count), round after round", async () => {
    const grid = makeGrid(Array(7).fill("ok"), true);
    const lines: string[] = [];
    grid.observer.log = (line) => lines.push(line);
    const result = await new FedAvg({ fractionEvaluate: 1 }).start({
      grid: new SecAggPlusGrid(grid, { numShares: 3, reconstructionThreshold: 2 }),
      initialArrays: initial(),
      numRounds: 2,
      timeout: TIMEOUT,
    });
    const all = [0, 1, 2, 3, 4, 5, 6];
    expect(maxDiff(flat(result.arrays), weightedAverage(all))).toBeLessThan(quantizationBound(all));
    expect(lines.filter((l) => l.includes("unmasked the sum of 7 updates"))).toHaveLength(2);
    expect(lines).toContain("SecAgg+ round 2: 7 nodes, 3 shares each, reconstructionThreshold 2");
    // Evaluation passes through untouched.
    expect(result.evaluateMetricsClientapp.get(2)?.get("acc")).toBeCloseTo(3, 12);
  });

  it("gives the same aggregate bit for bit in every run (deterministic quantization)", async () => {
    const run = async () =>
      flat((await train(new SecAggPlusGrid(makeGrid(Array(6).fill("ok"), true), SECURE))).arrays);
    expect(await run()).toEqual(await run());
  });

  it("makes a node refuse a plain train instruction, and stages out of order", async () => {
    const grid = makeGrid(["ok"], true);
    const [nodeId] = await grid.getNodeIds();
    const send = async (content: RecordDict) =>
      (
        await grid.sendAndReceive([grid.createMessage(content, "train", nodeId as bigint)])
      )[0] as Message;
    const plain = await send(new RecordDict({ arrays: initial() }));
    expect(plain.error.reason).toMatch(/sends its update only through SecAgg\+/);
    const { ConfigRecord } = await import("../records/config-record.ts");
    const early = await send(
      new RecordDict({ [CONFIGS_KEY]: new ConfigRecord({ stage: Stage.COLLECT_MASKED_VECTORS }) }),
    );
    expect(early.error.reason).toMatch(/expected stage setup, got collect_masked_vectors/);
  });

  it("checks its options as Flower does", () => {
    expect(() => resolveSecAggPlusOptions({ numShares: 2, reconstructionThreshold: 0.5 })).toThrow(
      /numShares must be an integer above 2/,
    );
    expect(() => resolveSecAggPlusOptions({ numShares: 5, reconstructionThreshold: 5 })).toThrow(
      /must be less than numShares/,
    );
    expect(() =>
      resolveSecAggPlusOptions({ numShares: 1, reconstructionThreshold: 0.5, modulusRange: 3e9 }),
    ).toThrow(/power of two/);
    expect(resolveSecAggPlusOptions({ numShares: 1, reconstructionThreshold: 0.5 })).toMatchObject({
      maxWeight: 1000,
      clippingRange: 8,
      quantizationRange: 2 ** 22,
      modulusRange: 2 ** 32,
    });
  });
});
