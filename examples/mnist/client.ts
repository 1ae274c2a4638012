import {
  type ArrayRecord,
  ClientApp,
  type Context,
  Message,
  MetricRecord,
  RecordDict,
} from "fedbridge";
import { evaluate, loadDigits, partition, subset, train } from "./task.ts";
import { fromRecord, toRecord } from "./weights-record.ts";

export const app = new ClientApp();

app.train(async (msg, context) => {
  const { partitionId, numPartitions, seed, config } = settings(context);
  const data = partition(partitionId, numPartitions, {
    scheme: config.partitioning === "label-skew" ? "label-skew" : "iid",
    seed,
    alpha: Number(config["dirichlet-alpha"]),
  });
  const round = Number(msg.content.configRecords.get("config")?.get("server-round") ?? 0);
  const result = await train(
    fromRecord(msg.content.arrayRecords.get("arrays") as ArrayRecord),
    data,
    {
      epochs: Number(config["local-epochs"]),
      batchSize: Number(config["batch-size"]),
      learningRate: Number(config["learning-rate"]),
      seed: seed * 1_000_003 + partitionId * 1009 + round, // (run seed, partition, round)
    },
  );
  const metrics = new MetricRecord({
    "train-loss": result.loss,
    "train-acc": result.accuracy,
    "num-examples": result.numExamples,
  });
  return new Message(new RecordDict({ arrays: toRecord(result.weights), metrics }), {
    replyTo: msg,
  });
});

app.evaluate(async (msg, context) => {
  // Each node evaluates on its own share of the held-out digits.
  const { partitionId, numPartitions } = settings(context);
  const { test } = loadDigits();
  const shard = Array.from({ length: test.labels.length }, (_, i) => i).filter(
    (i) => i % numPartitions === partitionId,
  );
  const result = await evaluate(
    fromRecord(msg.content.arrayRecords.get("arrays") as ArrayRecord),
    subset(test, shard),
  );
  const metrics = new MetricRecord({
    "eval-loss": result.loss,
    "eval-acc": result.accuracy,
    "num-examples": result.numExamples,
  });
  return new Message(new RecordDict({ metrics }), { replyTo: msg });
});

function settings(context: Context) {
  return {
    partitionId: Number(context.nodeConfig["partition-id"] ?? 0),
    numPartitions: Number(context.nodeConfig["num-partitions"] ?? 1),
    seed: Number(context.runConfig.seed ?? 0),
    config: context.runConfig,
  };
}
