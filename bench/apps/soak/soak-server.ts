// The quickstart's ServerApp for bench soak: FedAvg over every site, going on with at least
// `min-nodes` replies when sites are lost (failures accepted), each phase waiting at most
// `round-timeout` seconds, so a site stopped mid-round costs that round its reply, not the run.
// The model starts at zeros (the quickstart's ClientApp trains it).
import { ArrayRecord, ConfigRecord, ServerApp } from "fedbridge";
import { FedAvg } from "fedbridge/strategy";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const config = context.runConfig;
  const numFeatures = Number(config["num-features"]);
  const minNodes = Number(config["min-nodes"]);
  return new FedAvg({
    minTrainNodes: minNodes,
    minEvaluateNodes: minNodes,
    minAvailableNodes: minNodes,
    acceptFailures: true,
  }).start({
    grid,
    initialArrays: ArrayRecord.fromTypedArrays([
      { values: new Float32Array(numFeatures), shape: [numFeatures] },
      { values: new Float32Array(1), shape: [1] },
    ]),
    numRounds: Number(config["num-server-rounds"]),
    timeout: Number(config["round-timeout"]),
    trainConfig: new ConfigRecord({ lr: Number(config.lr) }),
  });
});
