import {
  ArrayRecord,
  ClientApp,
  type Context,
  createRng,
  Message,
  MetricRecord,
  RecordDict,
} from "fedbridge";
import { privacyMod } from "./privacy.ts";
import { evaluate, loadPartition, type Model, train } from "./task.ts";

// Run config `secagg` and `dp` add SecAgg+ and a DP mod to every message (see privacy.ts).
export const app = new ClientApp({ mods: [privacyMod] });

app.train((msg, context) => {
  const model = modelFrom(msg);
  const { train: data } = partition(context);
  const round = Number(msg.content.configRecords.get("config")?.get("server-round") ?? 0);
  // Every random choice is seeded from (run seed, partition, round): runs are reproducible.
  const rng = createRng(seed(context), context.nodeConfig["partition-id"] as number, round);
  const epochs = Number(context.runConfig["local-epochs"]);
  // FedProx sends proximal-mu: then SGD also pulls the model towards the global one.
  const mu = msg.content.configRecords.get("config")?.get("proximal-mu");
  const proximal = mu === undefined ? undefined : { mu: Number(mu), globalModel: modelFrom(msg) };
  const { loss } = train(model, data, epochs, Number(context.runConfig.lr), rng, proximal);
  const arrays = ArrayRecord.fromTypedArrays([
    { values: model.weights, shape: [model.weights.length] },
    { values: model.bias, shape: [1] },
  ]);
  const metrics = new MetricRecord({ "train-loss": loss, "num-examples": data.numExamples });
  return new Message(new RecordDict({ arrays, metrics }), { replyTo: msg });
});

app.evaluate((msg, context) => {
  const { test } = partition(context);
  const { loss, accuracy } = evaluate(modelFrom(msg), test);
  const metrics = new MetricRecord({
    "eval-loss": loss,
    "eval-acc": accuracy,
    "num-examples": test.numExamples,
  });
  return new Message(new RecordDict({ metrics }), { replyTo: msg });
});

function modelFrom(msg: Message): Model {
  const [weights, bias] = (
    msg.content.arrayRecords.get("arrays") as ArrayRecord
  ).toTypedArrays() as Float32Array[];
  return {
    weights: Float32Array.from(weights as Float32Array),
    bias: Float32Array.from(bias as Float32Array),
  };
}

function partition(context: Context) {
  const id = context.nodeConfig["partition-id"] as number;
  return loadPartition(
    seed(context),
    id,
    Number(context.runConfig["num-features"]),
    Number(context.runConfig["samples-per-node"]),
  );
}

function seed(context: Context): number {
  return Number(context.runConfig.seed ?? 0);
}
