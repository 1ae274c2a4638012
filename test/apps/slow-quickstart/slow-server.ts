// The quickstart's ServerApp with FedAvg needing 3 nodes per round (of 4).
import { ArrayRecord, ConfigRecord, FedAvg, ServerApp } from "fedbridge";
import { initialModel } from "./task.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const numFeatures = Number(context.runConfig["num-features"]);
  const { weights, bias } = initialModel(Number(context.runConfig.seed ?? 0), numFeatures);
  return new FedAvg({ minTrainNodes: 3, minEvaluateNodes: 3, minAvailableNodes: 3 }).start({
    grid,
    initialArrays: ArrayRecord.fromTypedArrays([
      { values: weights, shape: [numFeatures] },
      { values: bias, shape: [1] },
    ]),
    numRounds: Number(context.runConfig["num-server-rounds"]),
    trainConfig: new ConfigRecord({ lr: Number(context.runConfig.lr) }),
  });
});
