import { ArrayRecord, ConfigRecord, ServerApp } from "fedbridge";
import { FedAvg } from "fedbridge/strategy";

/** pyquick.server_app in TypeScript: FedAvg over 2 nodes from a float32[4] of zeros. */
export const app = new ServerApp();

app.main(async (grid, context) => {
  const strategy = new FedAvg({
    fractionTrain: 1,
    fractionEvaluate: 0,
    minTrainNodes: 2,
    minAvailableNodes: 2,
  });
  return strategy.start({
    grid,
    initialArrays: ArrayRecord.fromTypedArrays([{ values: new Float32Array(4), shape: [4] }]),
    trainConfig: new ConfigRecord({ lr: 0.1 }),
    numRounds: Number(context.runConfig["num-server-rounds"]),
  });
});
