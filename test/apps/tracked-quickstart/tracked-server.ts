// The quickstart ServerApp, logging one scalar of its own with a SummaryWriter.
import { ArrayRecord, ConfigRecord, ServerApp } from "fedbridge";
import { FedAvg } from "fedbridge/strategy";
import { SummaryWriter } from "fedbridge/tracking";
import { initialModel } from "./task.ts";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const writer = new SummaryWriter();
  const numRounds = Number(context.runConfig["num-server-rounds"]);
  writer.addScalar("app/planned-rounds", numRounds, 0);
  await writer.flush();
  const numFeatures = Number(context.runConfig["num-features"]);
  const { weights, bias } = initialModel(Number(context.runConfig.seed ?? 0), numFeatures);
  return new FedAvg().start({
    grid,
    initialArrays: ArrayRecord.fromTypedArrays([
      { values: weights, shape: [numFeatures] },
      { values: bias, shape: [1] },
    ]),
    numRounds,
    trainConfig: new ConfigRecord({ lr: Number(context.runConfig.lr) }),
  });
});
