import { ArrayRecord, ServerApp } from "fedbridge";
import { FedAvg } from "fedbridge/strategy";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const arrays = Number(context.runConfig["num-arrays"]);
  const floats = Number(context.runConfig["floats-per-array"]);
  const nodes = Number(context.runConfig["min-available-nodes"]);
  const initialArrays = ArrayRecord.fromTypedArrays(
    Array.from({ length: arrays }, (_, a) => ({
      values: new Float32Array(floats).fill(a),
      shape: [floats],
    })),
  );
  return new FedAvg({
    minTrainNodes: nodes,
    minEvaluateNodes: nodes,
    minAvailableNodes: nodes,
    fractionEvaluate: 0,
  }).start({
    grid,
    initialArrays,
    numRounds: Number(context.runConfig["num-server-rounds"]),
  });
});
