import { ArrayRecord, ConfigRecord, ServerApp } from "fedbridge";
import { strategyFromConfig } from "./strategies.ts";
import { initialModel } from "./task.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const numFeatures = Number(context.runConfig["num-features"]);
  const { weights, bias } = initialModel(Number(context.runConfig.seed ?? 0), numFeatures);
  // Run config `strategy` picks it (default fedavg); see strategies.ts.
  const strategy = strategyFromConfig(context.runConfig);
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
