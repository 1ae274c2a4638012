import { describe, expect, it } from "vitest";
import { type Context, createContext } from "../app/context.ts";
import { Message } from "../message/message.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { FedAvg } from "../strategy/fedavg.ts";
import {
  expectNormalSamples,
  loggingGrid,
  model,
  updatingNode,
  valuesOf,
} from "./dp-test-helpers.ts";
import { LocalDpMod } from "./local-dp-mod.ts";

const nodeContext = (partition: number, nodeSecret?: string): Context =>
  createContext({
    runId: 1n,
    nodeId: 9n,
    runConfig: { seed: 3 },
    nodeConfig: {
      "partition-id": partition,
      ...(nodeSecret === undefined ? {} : { "local-dp-seed": nodeSecret }),
    },
  });

const trainMessage = (values: ArrayLike<number>, round: number, messageType = "train") =>
  new Message(
    new RecordDict({ arrays: model(values), config: new ConfigRecord({ "server-round": round }) }),
    { dstNodeId: 9n, messageType },
  );

/** A handler that adds `update` to the model it receives. */
const adding =
  (update: ArrayLike<number>) =>
  async (message: Message): Promise<Message> => {
    const received = valuesOf(message.content.arrayRecords.get("arrays") as ArrayRecord);
    const sent = Float32Array.from(
      received,
      (v, i) => v + ((update[i] as number | undefined) ?? 0),
    );
    const metrics = new MetricRecord({ "num-examples": 1 });
    return new Message(new RecordDict({ arrays: model(sent), metrics }), { replyTo: message });
  };

describe("LocalDpMod", () => {
  it("adds noise of stddev Δ·√(2 ln(1.25/δ))/ε to every parameter (chi-square bound)", async () => {
    const mod = LocalDpMod(1, 0.2, 0.5, 1e-5);
    // 0.2·√(2 ln 125000)/0.5 = 0.4 · 4.844805262605389.
    expect(mod.stdDev).toBeCloseTo(0.4 * 4.844805262605389, 13);
    const reply = await mod(trainMessage(new Float32Array(100_000), 1), nodeContext(0), adding([]));
    expectNormalSamples(valuesOf(reply.content.arrayRecords.get("arrays")), mod.stdDev);
  });

  it("clips the update before noising it", async () => {
    const mod = LocalDpMod(1, 0, 0.5, 1e-5); // sensitivity 0: no noise, clipping only
    const reply = await mod(trainMessage([1, 1], 1), nodeContext(0), adding([6, 8]));
    const [w0, w1] = valuesOf(reply.content.arrayRecords.get("arrays"));
    expect(w0).toBeCloseTo(1.6, 6);
    expect(w1).toBeCloseTo(1.8, 6);
  });

  it("draws noise the server cannot recompute from the run seed; a node's own local-dp-seed makes it reproducible", async () => {
    const mod = LocalDpMod(1, 1, 1, 1e-5);
    const noise = async (partition: number, round: number, secret?: string) => {
      const reply = await mod(
        trainMessage([0, 0, 0], round),
        nodeContext(partition, secret),
        adding([]),
      );
      return [...valuesOf(reply.content.arrayRecords.get("arrays"))];
    };
    // Without a node secret: fresh every time, even for the same run seed, node and round.
    expect(await noise(0, 1)).not.toEqual(await noise(0, 1));
    // With one: reproducible, fresh each round and node.
    expect(await noise(0, 1, "s")).toEqual(await noise(0, 1, "s"));
    expect(await noise(0, 1, "s")).not.toEqual(await noise(0, 2, "s"));
    expect(await noise(0, 1, "s")).not.toEqual(await noise(1, 1, "s"));
  });

  it("passes evaluate messages through", async () => {
    const mod = LocalDpMod(1, 1, 1, 1e-5);
    const reply = await mod(trainMessage([0], 1, "evaluate"), nodeContext(0), adding([7]));
    expect([...valuesOf(reply.content.arrayRecords.get("arrays"))]).toEqual([7]);
  });

  it("runs on a ClientApp's train handler in a federated run", async () => {
    const { grid } = loggingGrid();
    const mod = LocalDpMod(0.5, 0, 1, 1e-5);
    for (let i = 0; i < 2; i++) grid.addNode(updatingNode([3, 4], [mod]));
    const result = await new FedAvg().start({ grid, initialArrays: model([0, 0]), numRounds: 1 });
    // Each update [3, 4] is clipped to norm 0.5 on its node: [0.3, 0.4].
    const [w0, w1] = valuesOf(result.arrays);
    expect(w0).toBeCloseTo(0.3, 6);
    expect(w1).toBeCloseTo(0.4, 6);
  });

  it("shows its settings and refuses what would make the noise infinite", () => {
    const mod = LocalDpMod(1, 2, 3, 1e-6);
    expect([mod.clippingNorm, mod.sensitivity, mod.epsilon, mod.delta]).toEqual([1, 2, 3, 1e-6]);
    expect(() => LocalDpMod(1, 1, 0, 1e-5)).toThrow(/Epsilon/);
    expect(() => LocalDpMod(1, 1, 1, 0)).toThrow(/Delta/);
    expect(() => LocalDpMod(0, 1, 1, 1e-5)).toThrow(/clipping norm/);
  });
});
