import { describe, expect, it } from "vitest";
import type { Grid } from "../app/grid.ts";
import { deflateRecordDict } from "../objects/deflate.ts";
import type { RecordDict } from "../records/record-dict.ts";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import type { TrainAggregate } from "./strategy.ts";

/** The example of docs/strategies.md: FedAvg over the replies whose loss is at most `maxLoss`. */
class FedAvgBelowLoss extends FedAvg {
  readonly maxLoss: number;
  /** What each call of the hook got, for the tests. */
  readonly calls: RecordDict[][] = [];

  constructor(options: FedAvgOptions & { maxLoss: number }) {
    super(options);
    this.maxLoss = options.maxLoss;
  }

  protected override aggregate(round: number, contents: RecordDict[], grid: Grid): TrainAggregate {
    this.calls.push(contents);
    const loss = (c: RecordDict) => Number([...c.metricRecords.values()][0]?.get("loss"));
    const kept = contents.filter((c) => loss(c) <= this.maxLoss);
    grid.observer.log(`aggregate_train: kept ${kept.length} of ${contents.length} replies`);
    if (kept.length === 0) return [undefined, undefined]; // the model stays as it was
    return super.aggregate(round, kept, grid);
  }
}

/** Two good nodes ([2] and [4]), one that diverged ([100], loss 9) and one that fails. */
const nodes = () => [
  fakeNode({ arrays: [2], metrics: { loss: 0.5, "num-examples": 1 } }),
  fakeNode({ arrays: [4], metrics: { loss: 0.6, "num-examples": 1 } }),
  fakeNode({ arrays: [100], metrics: { loss: 9, "num-examples": 1 } }),
  fakeNode({ arrays: [0], failTrain: true }),
];

describe("FedAvg's aggregate hook", () => {
  it("gets the contents of the good replies, in content order, and makes the model", async () => {
    const strategy = new FedAvgBelowLoss({ maxLoss: 1, fractionEvaluate: 0 });
    const { result, lines } = await runStrategy(strategy, nodes(), [7]);
    const [contents = []] = strategy.calls;
    const ids = contents.map((c) => deflateRecordDict(c).id);
    expect(ids).toEqual([...ids].sort());
    expect(contents).toHaveLength(3); // the failed reply was split off and logged
    expect(lines).toContain("aggregate_train: Received 3 results and 1 failures");
    expect(lines).toContain("aggregate_train: kept 2 of 3 replies");
    expect(valuesOf(result.arrays)).toEqual([3]);
    expect(result.trainMetricsClientapp.get(1)?.toObject()).toEqual({ loss: 0.55 });
  });

  it("keeps the model when it gives no arrays", async () => {
    const strategy = new FedAvgBelowLoss({ maxLoss: 0.1, fractionEvaluate: 0 });
    const { result } = await runStrategy(strategy, nodes(), [7], 2);
    expect(strategy.calls).toHaveLength(2);
    expect(valuesOf(result.arrays)).toEqual([7]);
    expect(result.trainMetricsClientapp.size).toBe(0);
  });

  it("is not called when the guard refuses the round", async () => {
    for (const options of [{ acceptFailures: false }, { minTrainNodes: 4 }]) {
      const strategy = new FedAvgBelowLoss({ ...options, maxLoss: 1, fractionEvaluate: 0 });
      const { result } = await runStrategy(strategy, nodes(), [7]);
      expect(strategy.calls).toHaveLength(0);
      expect(valuesOf(result.arrays)).toEqual([7]);
    }
  });
});
