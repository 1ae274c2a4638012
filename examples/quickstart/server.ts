import { ArrayRecord, ConfigRecord, ServerApp } from "fedbridge";
import { gridFromConfig, withDifferentialPrivacy } from "./privacy.ts";
import { strategyFromConfig } from "./strategies.ts";
import { initialModel } from "./task.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const numFeatures = Number(context.runConfig["num-features"]);
  const { weights, bias } = initialModel(Number(context.runConfig.seed ?? 0), numFeatures);
  // Run config `strategy` picks it (default fedavg); see strategies.ts. Run config `dp`
  // wraps it for central differential privacy, `secagg=true` trains through SecAgg+ (see
  // privacy.ts); by default, neither.
  const strategy = await withDifferentialPrivacy(
    strategyFromConfig(context.runConfig),
    context.runConfig,
    grid,
  );
  return strategy.start({
    grid: gridFromConfig(grid, context.runConfig),
    initialArrays: ArrayRecord.fromTypedArrays([
      { values: weights, shape: [numFeatures] },
      { values: bias, shape: [1] },
    ]),
    numRounds: Number(context.runConfig["num-server-rounds"]),
    trainConfig: new ConfigRecord({ lr: Number(context.runConfig.lr) }),
  });
});
