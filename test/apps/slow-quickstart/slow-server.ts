// The quickstart's ServerApp with FedAvg needing 3 nodes per round (of 4), and each round
// waiting for `min-available-nodes` connected nodes (default 3) before it samples them.
import { ArrayRecord, ConfigRecord, ServerApp } from "fedbridge";
import { FedAvg } from "fedbridge/strategy";
import { initialModel } from "./task.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const numFeatures = Number(context.runConfig["num-features"]);
  const { weights, bias } = initialModel(Number(context.runConfig.seed ?? 0), numFeatures);
  const minAvailableNodes = Number(context.runConfig["min-available-nodes"] ?? 3);
  return new FedAvg({ minTrainNodes: 3, minEvaluateNodes: 3, minAvailableNodes }).start({
    grid,
    initialArrays: ArrayRecord.fromTypedArrays([
      { values: weights, shape: [numFeatures] },
      { values: bias, shape: [1] },
    ]),
    numRounds: Number(context.runConfig["num-server-rounds"]),
    trainConfig: new ConfigRecord({ lr: Number(context.runConfig.lr) }),
  });
});
