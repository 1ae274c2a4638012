import { ArrayRecord, ConfigRecord, FedAvg, ServerApp } from "fedbridge";
import { initialModel } from "./task.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const numFeatures = Number(context.runConfig["num-features"]);
  const { weights, bias } = initialModel(Number(context.runConfig.seed ?? 0), numFeatures);
  const strategy = new FedAvg({ fractionTrain: 1, fractionEvaluate: 1 });
  return strategy.start({
    grid,
    initialArrays: ArrayRecord.fromTypedArrays([
      { values: weights, shape: [numFeatures] },
      { values: bias, shape: [1] },
    ]),
    numRounds: Number(context.runConfig["num-server-rounds"]),
    trainConfig: new ConfigRecord({ lr: Number(context.runConfig.lr) }),
  });
});
