import { initialModel } from "fedbridge/ml/logistic-regression";
import { createShareable, DataKind, type ModelPersistor } from "fedbridge/runtime";
import { modelRecords } from "./model-records.ts";

/** The first global model, drawn from the job's seed. */
export const persistor: ModelPersistor = {
  load: (config) =>
    createShareable(
      DataKind.WEIGHTS,
      modelRecords(initialModel(Number(config.seed ?? 0), Number(config.numFeatures))),
    ),
};
