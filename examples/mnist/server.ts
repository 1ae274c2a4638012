import { ConfigRecord, MetricRecord, ServerApp } from "fedbridge";
import { FedAvg } from "fedbridge/strategy";
import { evaluate, initialWeights, loadDigits } from "./task.ts";
import { fromRecord, toRecord } from "./weights-record.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const seed = Number(context.runConfig.seed ?? 0);
  const { test } = loadDigits();
  return new FedAvg().start({
    grid,
    initialArrays: toRecord(await initialWeights(seed)),
    numRounds: Number(context.runConfig["num-server-rounds"]),
    trainConfig: new ConfigRecord(),
    // Centralized evaluation on all 2,000 held-out digits, after every round.
    evaluateFn: async (_round, arrays) => {
      const { loss, accuracy } = await evaluate(fromRecord(arrays), test);
      return new MetricRecord({ loss, accuracy });
    },
  });
});
