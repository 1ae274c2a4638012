import { describe, expect, it } from "vitest";
import { ClientApp } from "../app/client-app.ts";
import type { Handler } from "../app/mod.ts";
import { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import { FedAvg } from "./fedavg.ts";

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
