// The quickstart's model with FedAvg or FedAdam (run config `strategy`), training a fraction of
// the sites each round (`fraction-train`); `clock=true` puts the time into each round's
// config, which a ServerApp that is to resume must not do. The test copies examples/quickstart
// beside these files.
import { ArrayRecord, ConfigRecord, ServerApp } from "fedbridge";
import { FedAdam, FedAvg } from "fedbridge/strategy";
import { initialModel } from "./task.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const config = context.runConfig;
  const numFeatures = Number(config["num-features"]);
  const { weights, bias } = initialModel(Number(config.seed ?? 0), numFeatures);
  const options = {
    fractionTrain: Number(config["fraction-train"]),
    minTrainNodes: 1,
    minAvailableNodes: 3,
  };
  const strategy = config.strategy === "fedadam" ? new FedAdam(options) : new FedAvg(options);
  return strategy.start({
    grid,
    initialArrays: ArrayRecord.fromTypedArrays([
      { values: weights, shape: [numFeatures] },
      { values: bias, shape: [1] },
    ]),
    numRounds: Number(config["num-server-rounds"]),
    trainConfig: new ConfigRecord({
      lr: Number(config.lr),
      ...(config.clock === true ? { nonce: Date.now() } : {}),
    }),
  });
});
