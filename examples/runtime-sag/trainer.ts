import { evaluate, loadPartition, type Model, train } from "fedbridge/ml/logistic-regression";
import {
  createRng,
  createShareable,
  DataKind,
  type Executor,
  type ExecutorContext,
} from "fedbridge/runtime";
import { modelFrom, modelRecords } from "./model-records.ts";

/** The site's model after its last training: what it submits for cross-site evaluation. */
let localModel: Model | undefined;

/**
 * One executor for the job's three tasks. Each site's data is its partition of the
 * quickstart's generated data (partition = the site's place among the job's sites), and
 * training is seeded from (seed, partition, round), so a run is reproducible.
 */
export const executor: Executor = {
  execute(task, data, context) {
    const config = context.config;
    const seed = Number(config.seed ?? 0);
    const partitionId = context.jobSites.indexOf(context.site);
    const { train: trainSet, test } = loadPartition(
      seed,
      partitionId,
      Number(config.numFeatures),
      Number(config.samplesPerSite),
    );
    switch (task) {
      case "train": {
        const model = modelFrom(data.records);
        const round = Number(data.meta.round ?? 0);
        const rng = createRng(seed, partitionId, round);
        const epochs = Number(config.localEpochs ?? 1);
        const { loss } = train(model, trainSet, epochs, Number(config.lr ?? 0.1), rng);
        localModel = model;
        context.log(`${context.site} round ${round}: train loss ${loss.toFixed(4)}`);
        return createShareable(DataKind.WEIGHTS, modelRecords(model, { "train-loss": loss }), {
          numExamples: trainSet.numExamples,
        });
      }
      case "validate": {
        const { loss, accuracy } = evaluate(modelFrom(data.records), test);
        const metrics = { "eval-loss": loss, "eval-acc": accuracy };
        return createShareable(DataKind.METRICS, modelRecords(undefined, metrics));
      }
      case "submit_model":
        return createShareable(DataKind.WEIGHTS, modelRecords(submitted(context)));
      default:
        throw new Error(`unknown task ${task}`);
    }
  },
};

function submitted(context: ExecutorContext): Model {
  if (localModel === undefined) throw new Error(`${context.site} has not trained a model yet`);
  return localModel;
}
