import { ArrayRecord, ServerApp } from "fedbridge";
import { FedAvg } from "fedbridge/strategy";

export const app = new ServerApp();

app.main(async (grid, context) => {
  const arrays = Number(context.runConfig["num-arrays"]);
  const floats = Number(context.runConfig["floats-per-array"]);
  const nodes = Number(context.runConfig["min-available-nodes"]);
  const initialArrays = ArrayRecord.fromTypedArrays(
    Array.from({ length: arrays }, (_, a) => ({
      values: pseudoRandom(floats, a),
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

/**
 * Array `a`'s values: a multiplicative hash of each index, in [0, 1), as the Python twin makes
 * them. Not constants: arrays that differ only by a constant would be the same objects after
 * a node's change (x * 0.5 + shift, the shift differing by node), and the stores would keep
 * them once, as real models never allow.
 */
function pseudoRandom(floats: number, a: number): Float32Array {
  const values = new Float32Array(floats);
  const offset = Math.imul(a, 0x85ebca77);
  for (let i = 0; i < floats; i++)
    values[i] = ((Math.imul(i, 0x9e3779b1) + offset) >>> 8) / 2 ** 24;
  return values;
}
