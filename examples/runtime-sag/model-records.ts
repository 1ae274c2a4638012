import type { Model } from "fedbridge/ml/logistic-regression";
import {
  arrayEntries,
  arrayRecord,
  float32Array,
  float32Values,
  recordDict,
  type Shareable,
} from "fedbridge/runtime";

/**
 * The model as records (an ArrayRecord "model" with "weights" and "bias"), with metrics
 * (a MetricRecord "metrics") when given, and back.
 */
export function modelRecords(
  model: Model | undefined,
  metrics?: Record<string, number>,
): Shareable["records"] {
  return recordDict({
    arrays: model
      ? {
          model: arrayRecord([
            ["weights", float32Array(model.weights, [model.weights.length])],
            ["bias", float32Array(model.bias, [1])],
          ]),
        }
      : {},
    metrics: metrics ? { metrics } : {},
  });
}

export function modelFrom(records: Shareable["records"]): Model {
  const arrays = new Map(arrayEntries(records).map((e) => [e.name, float32Values(e.array)]));
  const weights = arrays.get("weights");
  const bias = arrays.get("bias");
  if (weights === undefined || bias === undefined)
    throw new Error("the task carries no model (weights and bias)");
  // Copies: training changes them in place.
  return { weights: Float32Array.from(weights), bias: Float32Array.from(bias) };
}
