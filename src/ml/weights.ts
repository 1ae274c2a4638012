import { type LayersModel, type Tensor, tensor } from "@tensorflow/tfjs";

/** One weight array of a model, detached from tfjs: the app turns these into records. */
export interface NamedWeight {
  /**
   * The weight's scoped name as the model declared it, e.g. "dense1/kernel" (tfjs's
   * `originalName`, without the "_1" suffixes tfjs adds when a process builds a second model).
   * Informative only: {@link setWeights} matches weights by position.
   */
  name: string;
  /** The dimensions, outermost first. */
  shape: number[];
  /** The values in row-major order; a copy that the model never touches again. */
  data: Float32Array;
}

/**
 * Copies out all of a model's weights (trainable and not), in `model.weights` order: layer by
 * layer, each layer's own order (a dense layer gives kernel, then bias).
 */
export function getWeights(model: LayersModel): NamedWeight[] {
  return model.weights.map((variable) => {
    const value = variable.read();
    if (value.dtype !== "float32") {
      throw new Error(
        `weight ${variable.originalName} is ${value.dtype}; only float32 is supported`,
      );
    }
    // dataSync may hand out the backend's own buffer (cpu does): copy it.
    const data = new Float32Array(value.dataSync() as Float32Array);
    return { name: variable.originalName, shape: value.shape.slice(), data };
  });
}

/**
 * Loads `weights` into `model`, position by position, after checking that their number and
 * shapes match the model's (the same list {@link getWeights} returns for that architecture).
 */
export function setWeights(model: LayersModel, weights: readonly NamedWeight[]): void {
  const variables = model.weights;
  if (weights.length !== variables.length) {
    throw new Error(`model has ${variables.length} weight arrays, got ${weights.length}`);
  }
  const values: Tensor[] = [];
  try {
    variables.forEach((variable, i) => {
      const w = weights[i] as NamedWeight;
      const expected = variable.read().shape;
      const size = expected.reduce((a, b) => a * b, 1);
      if (!sameShape(w.shape, expected) || w.data.length !== size) {
        throw new Error(
          `weight ${i} (${variable.originalName}): expected shape [${expected}], got [${w.shape}] ` +
            `with ${w.data.length} values`,
        );
      }
      values.push(tensor(w.data, expected, "float32"));
    });
    model.setWeights(values);
  } finally {
    for (const value of values) value.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
