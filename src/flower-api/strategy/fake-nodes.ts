import { ClientApp } from "../app/client-app.ts";
import type { RunObserver } from "../app/run-observer.ts";
import { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import type { Result } from "./result.ts";
import type { Strategy } from "./strategy.ts";

/**
 * Small fake nodes for the strategies' tests: each trains to arrays given by the test and
 * reports fixed metrics, so a test can work out the aggregate by hand.
 */

/** A one-array float32 model. */
export function model(...values: number[]): ArrayRecord {
  return ArrayRecord.fromTypedArrays([
    { values: Float32Array.from(values), shape: [values.length] },
  ]);
}

/** The values of a one-array model. */
export function valuesOf(arrays: ArrayRecord): number[] {
  return [...(arrays.toTypedArrays()[0] as Float32Array)];
}

export interface FakeNodeOptions {
  /** What it trains to: fixed values, or values from the model it got and the round. */
  arrays: number[] | ((received: number[], round: number) => number[]);
  /** Its train metrics. Default: { "num-examples": 1 }. */
  metrics?: Record<string, number>;
  /** Its evaluate metrics. Default: { loss: 1, "num-examples": 1 }. */
  evaluate?: Record<string, number>;
  /** Whether its train handler throws. Default: false. */
  failTrain?: boolean;
  /** Whether its evaluate handler throws. Default: false. */
  failEvaluate?: boolean;
  /** Receives each train message, to look at what the strategy sent. Default: none. */
  onTrain?: (msg: Message) => void;
}

export function fakeNode(options: FakeNodeOptions): ClientApp {
  return new ClientApp()
    .train((msg) => {
      options.onTrain?.(msg);
      if (options.failTrain) throw new TypeError("broken node (train)");
      const received = valuesOf(msg.content.arrayRecords.get("arrays") as ArrayRecord);
      const round = Number(msg.content.configRecords.get("config")?.get("server-round"));
      const values =
        typeof options.arrays === "function" ? options.arrays(received, round) : options.arrays;
      const metrics = new MetricRecord(options.metrics ?? { "num-examples": 1 });
      return new Message(new RecordDict({ arrays: model(...values), metrics }), { replyTo: msg });
    })
    .evaluate((msg) => {
      if (options.failEvaluate) throw new TypeError("broken node (evaluate)");
      const metrics = new MetricRecord(options.evaluate ?? { loss: 1, "num-examples": 1 });
      return new Message(new RecordDict({ metrics }), { replyTo: msg });
    });
}

/**
 * The Krum fixture: three honest nodes A = [1, 1], B = [2, 1], C = [1, 3] and a planted outlier Z = [11, 11].
 * Squared distances: AB 1, AC 4, BC 5, AZ 200, BZ 181, CZ 164.
 */
export const honestAndOutlier = (): ClientApp[] => [
  fakeNode({ arrays: [1, 1], metrics: { loss: 1, "num-examples": 1 } }),
  fakeNode({ arrays: [2, 1], metrics: { loss: 2, "num-examples": 1 } }),
  fakeNode({ arrays: [1, 3], metrics: { loss: 3, "num-examples": 2 } }),
  fakeNode({ arrays: [11, 11], metrics: { loss: 100, "num-examples": 1 } }),
];

/** Runs `strategy` over the nodes; `lines` gets the strategy's log. */
export async function runStrategy(
  strategy: Strategy,
  nodes: readonly ClientApp[],
  initial: number[],
  numRounds = 1,
): Promise<{ result: Result; lines: string[] }> {
  const lines: string[] = [];
  const observer: RunObserver = {
    roundStarted() {},
    roundFinished() {},
    log: (line) => lines.push(line),
  };
  const grid = new InMemoryGrid({ runId: 1n, runConfig: {} }, observer);
  for (const node of nodes) grid.addNode(node);
  const result = await strategy.start({ grid, initialArrays: model(...initial), numRounds });
  return { result, lines };
}
