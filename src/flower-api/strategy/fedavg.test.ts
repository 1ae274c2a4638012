import { describe, expect, it } from "vitest";
import { ClientApp } from "../app/client-app.ts";
import type { Handler } from "../app/mod.ts";
import { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import { Bulyan } from "./bulyan.ts";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedAdagrad } from "./fed-adagrad.ts";
import { FedAdam } from "./fed-adam.ts";
import { FedAvgM } from "./fed-avg-m.ts";
import { FedMedian } from "./fed-median.ts";
import { FedProx } from "./fed-prox.ts";
import { FedTrimmedAvg } from "./fed-trimmed-avg.ts";
import { FedYogi } from "./fed-yogi.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { Krum } from "./krum.ts";
import { MultiKrum } from "./multi-krum.ts";
import { QFedAvg } from "./q-fed-avg.ts";

const model = (...values: number[]) =>
  ArrayRecord.fromTypedArrays([{ values: Float32Array.from(values), shape: [values.length] }]);

/** A node that answers train with fixed arrays and metrics, and evaluate with a fixed loss. */
const node = (arrays: number[], numExamples: number, loss: number, evalLoss = loss): ClientApp =>
  new ClientApp()
    .train(
      (msg) =>
        new Message(
          new RecordDict({
            arrays: model(...arrays),
            metrics: new MetricRecord({ loss, "num-examples": numExamples }),
          }),
          { replyTo: msg },
        ),
    )
    .evaluate(
      (msg) =>
        new Message(
          new RecordDict({
            metrics: new MetricRecord({ loss: evalLoss, "num-examples": numExamples }),
          }),
          { replyTo: msg },
        ),
    );

describe("FedAvg", () => {
  it("averages arrays and metrics weighted by num-examples (worked by hand)", async () => {
    const grid = new InMemoryGrid();
    grid.addNode(node([1, 2], 1, 1.0));
    grid.addNode(node([3, 4], 3, 2.0, 4.0));
    const result = await new FedAvg().start({ grid, initialArrays: model(0, 0), numRounds: 1 });
    // Weights 1/4 and 3/4: [1·¼ + 3·¾, 2·¼ + 4·¾] = [2.5, 3.5]; loss 1·¼ + 2·¾ = 1.75.
    expect(result.arrays.toTypedArrays()[0]).toEqual(new Float32Array([2.5, 3.5]));
    expect(result.trainMetricsClientapp.get(1)?.toObject()).toEqual({ loss: 1.75 });
    // Evaluate: 1·¼ + 4·¾ = 3.25; the weight key is left out.
    expect(result.evaluateMetricsClientapp.get(1)?.toObject()).toEqual({ loss: 3.25 });
  });

  it("gives the same model whatever the order in which replies arrive", async () => {
    const run = async (order: number[]) => {
      const grid = new InMemoryGrid();
      const nodes = [node([0.1, 0.7], 3, 1), node([0.2, 0.3], 5, 2), node([0.9, 0.4], 7, 3)];
      for (const i of order) grid.addNode(nodes[i] as ClientApp);
      const result = await new FedAvg().start({ grid, initialArrays: model(0, 0), numRounds: 1 });
      return result.arrays.toTypedArrays()[0];
    };
    expect(await run([0, 1, 2])).toEqual(await run([2, 0, 1]));
  });

  it("goes on without a node whose ClientApp throws, and reports the failure", async () => {
    const grid = new InMemoryGrid();
    grid.addNode(node([2], 1, 1));
    grid.addNode(node([4], 1, 1));
    grid.addNode(
      new ClientApp().train(() => {
        throw new TypeError("broken node");
      }),
    );
    const failures: number[] = [];
    const observer = {
      roundStarted() {},
      log() {},
      roundFinished: (s: { failures: { train: number } }) => failures.push(s.failures.train),
    };
    const result = await new FedAvg({ fractionEvaluate: 0 }).start({
      grid: Object.assign(grid, { observer }),
      initialArrays: model(0),
      numRounds: 2,
    });
    expect(result.arrays.toTypedArrays()[0]).toEqual(new Float32Array([3]));
    expect(failures).toEqual([1, 1]);
  });

  it("keeps the model when fewer than minTrainNodes nodes succeed", async () => {
    const grid = new InMemoryGrid();
    grid.addNode(node([2], 1, 1));
    grid.addNode(
      new ClientApp().train(() => {
        throw new TypeError("broken node");
      }),
    );
    const result = await new FedAvg({ fractionEvaluate: 0, minTrainNodes: 2 }).start({
      grid,
      initialArrays: model(7),
      numRounds: 1,
    });
    expect(result.arrays.toTypedArrays()[0]).toEqual(new Float32Array([7]));
    expect(result.trainMetricsClientapp.size).toBe(0);
  });

  it("refuses inconsistent replies with a clear error", async () => {
    const grid = new InMemoryGrid();
    grid.addNode(node([1], 1, 1));
    const noWeight: Handler = (msg) =>
      new Message(new RecordDict({ arrays: model(1), metrics: new MetricRecord({ loss: 1 }) }), {
        replyTo: msg,
      });
    grid.addNode(new ClientApp().train(noWeight));
    await expect(
      new FedAvg().start({ grid, initialArrays: model(0), numRounds: 1 }),
    ).rejects.toThrow(/MetricRecords must have the same name and keys/);
  });

  it("fails clearly when too few nodes connect in time (Flower waits forever)", async () => {
    const grid = new InMemoryGrid();
    grid.addNode(node([1], 1, 1));
    const strategy = new FedAvg({ minAvailableNodes: 3, minAvailableNodesTimeout: 0.2 });
    await expect(strategy.start({ grid, initialArrays: model(0), numRounds: 1 })).rejects.toThrow(
      /only 1 of the 3 nodes needed/,
    );
  });

  it("samples a fraction of the nodes reproducibly from the run seed", async () => {
    const sampled = async (seed: number) => {
      const grid = new InMemoryGrid({ runId: 1n, runConfig: { seed } });
      for (let i = 0; i < 6; i++) grid.addNode(node([i], 1, 1));
      const messages = await new FedAvg({ fractionTrain: 0.5 }).configureTrain(
        1,
        model(0),
        new ConfigRecord(),
        grid,
      );
      return messages.map((m) => m.metadata.dstNodeId);
    };
    expect(await sampled(1)).toHaveLength(3);
    expect(await sampled(1)).toEqual(await sampled(1));
    const draws = await Promise.all([2, 3, 4, 5, 6].map(sampled));
    expect(new Set(draws.map(String)).size).toBeGreaterThan(1);
  });
});

describe("acceptFailures and minCompletionRate", () => {
  /** Two good nodes ([2] and [4], eval loss 1 and 3) and one whose train or evaluate throws. */
  const nodes = (broken: "train" | "evaluate") => [
    fakeNode({ arrays: [2], metrics: { loss: 1, "num-examples": 1 } }),
    fakeNode({
      arrays: [4],
      metrics: { loss: 1, "num-examples": 1 },
      evaluate: { loss: 3, "num-examples": 1 },
    }),
    fakeNode({
      arrays: [100],
      metrics: { loss: 1, "num-examples": 1 },
      failTrain: broken === "train",
      failEvaluate: broken === "evaluate",
    }),
  ];

  it("keep today's behaviour by default: failures accepted, any completion rate", async () => {
    const strategy = new FedAvg();
    expect([strategy.acceptFailures, strategy.minCompletionRate]).toEqual([true, 0]);
    const { result } = await runStrategy(strategy, nodes("train"), [7]);
    // The two good replies: (2 + 4)/2 = 3.
    expect(valuesOf(result.arrays)).toEqual([3]);
  });

  it("acceptFailures false: a train round with a failure is refused, the run goes on", async () => {
    const { result, lines } = await runStrategy(
      new FedAvg({ acceptFailures: false }),
      nodes("train"),
      [7],
      2,
    );
    // Both rounds refused: the model is still the initial [7], no train metrics...
    expect(valuesOf(result.arrays)).toEqual([7]);
    expect(result.trainMetricsClientapp.size).toBe(0);
    const refusals = lines.filter((l) => l.includes("round refused"));
    expect(refusals).toEqual([
      "aggregate_train: round refused: 1 of 3 replies failed and acceptFailures is false; the model stays as it was",
      "aggregate_train: round refused: 1 of 3 replies failed and acceptFailures is false; the model stays as it was",
    ]);
    // ...but evaluation (no failures) still ran each round: (1 + 3 + 1)/3 = 5/3.
    expect(result.evaluateMetricsClientapp.get(2)?.get("loss")).toBeCloseTo(5 / 3, 10);
  });

  it("acceptFailures false: an evaluate round with a failure gives no metrics", async () => {
    const { result, lines } = await runStrategy(
      new FedAvg({ acceptFailures: false }),
      nodes("evaluate"),
      [7],
    );
    // Train had no failure: (2 + 4 + 100)/3 = 35.33…; evaluate is refused.
    expect(valuesOf(result.arrays)[0]).toBeCloseTo(106 / 3, 4);
    expect(result.evaluateMetricsClientapp.size).toBe(0);
    expect(lines).toContain(
      "aggregate_evaluate: round refused: 1 of 3 replies failed and acceptFailures is false; no metrics this round",
    );
  });

  it("minCompletionRate: 2 of 3 completed is refused below 0.7 and accepted at 0.6", async () => {
    const refused = await runStrategy(new FedAvg({ minCompletionRate: 0.7 }), nodes("train"), [7]);
    // 2/3 = 0.67 < 0.7: refused.
    expect(valuesOf(refused.result.arrays)).toEqual([7]);
    expect(refused.lines).toContain(
      "aggregate_train: round refused: only 2 of 3 instructions completed (rate 0.67), below minCompletionRate 0.7; the model stays as it was",
    );
    const accepted = await runStrategy(new FedAvg({ minCompletionRate: 0.6 }), nodes("train"), [7]);
    // 2/3 = 0.67 ≥ 0.6: (2 + 4)/2 = 3.
    expect(valuesOf(accepted.result.arrays)).toEqual([3]);
  });

  it("minCompletionRate applies to evaluate rounds too", async () => {
    const { result, lines } = await runStrategy(
      new FedAvg({ minCompletionRate: 1 }),
      nodes("evaluate"),
      [7],
    );
    expect(result.evaluateMetricsClientapp.size).toBe(0);
    expect(lines).toContain(
      "aggregate_evaluate: round refused: only 2 of 3 instructions completed (rate 0.67), below minCompletionRate 1; no metrics this round",
    );
  });

  it("refuses a minCompletionRate outside [0, 1]", () => {
    expect(() => new FedAvg({ minCompletionRate: 1.5 })).toThrow(/between 0 and 1, got 1.5/);
    expect(() => new FedAvg({ fractionTrain: Number.NaN })).toThrow(
      /fractionTrain must be between 0 and 1, got NaN/,
    );
    expect(() => new FedAvg({ fractionEvaluate: -0.1 })).toThrow(/fractionEvaluate must be/);
  });

  const everyStrategy: [string, (o: FedAvgOptions) => FedAvg][] = [
    ["FedProx", (o) => new FedProx({ ...o, proximalMu: 0.1 })],
    ["FedAdam", (o) => new FedAdam(o)],
    ["FedYogi", (o) => new FedYogi(o)],
    ["FedAdagrad", (o) => new FedAdagrad(o)],
    ["FedAvgM", (o) => new FedAvgM({ ...o, serverMomentum: 0.9 })],
    ["FedMedian", (o) => new FedMedian(o)],
    ["FedTrimmedAvg", (o) => new FedTrimmedAvg(o)],
    ["Krum", (o) => new Krum(o)],
    ["MultiKrum", (o) => new MultiKrum({ ...o, numNodesToSelect: 2 })],
    ["Bulyan", (o) => new Bulyan(o)],
    ["QFedAvg", (o) => new QFedAvg({ ...o, clientLearningRate: 0.1, trainLossKey: "loss" })],
  ];
  it.each(everyStrategy)(
    "%s inherits both: the model stays when a round is refused",
    async (_, make) => {
      for (const options of [{ acceptFailures: false }, { minCompletionRate: 0.9 }]) {
        const { result, lines } = await runStrategy(make(options), nodes("train"), [7]);
        expect(valuesOf(result.arrays)).toEqual([7]);
        expect(lines.some((l) => l.startsWith("aggregate_train: round refused"))).toBe(true);
      }
      // Without the options the same round changes the model.
      const { result } = await runStrategy(
        make({}),
        [
          ...nodes("train").slice(0, 2),
          fakeNode({ arrays: [3], metrics: { loss: 1, "num-examples": 1 } }),
        ],
        [7],
      );
      expect(valuesOf(result.arrays)[0]).not.toBe(7);
    },
  );
});

describe("Grid.sendAndReceive", () => {
  it("replaces a reply that does not come in time with REPLY_MESSAGE_UNAVAILABLE", async () => {
    const grid = new InMemoryGrid();
    const silent = grid.addNode(new ClientApp().query(() => new Promise<Message>(() => {})));
    const replies = await grid.sendAndReceive(
      [grid.createMessage(new RecordDict(), "query", silent)],
      { timeout: 0.1 },
    );
    expect(replies[0]?.error.code).toBe(4);
  });

  it("answers a message to an unknown node with NODE_UNAVAILABLE", async () => {
    const grid = new InMemoryGrid();
    const replies = await grid.sendAndReceive([
      grid.createMessage(new RecordDict(), "query", 999n),
    ]);
    expect(replies[0]?.error.code).toBe(5);
  });
});
