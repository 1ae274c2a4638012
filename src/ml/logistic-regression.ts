import { createRng, type Rng } from "../core/numeric/random.ts";

/**
 * The quickstart's task, for any app or job to use: logistic regression, y = sigmoid(w·x + b),
 * on generated data. A hidden "true" model labels the points; each partition draws its own
 * points from the seed, shifted per partition so the data is not IID. Float32 throughout, no
 * ML library, and fast: the model the tests and examples train. Import it from
 * `fedbridge/ml/logistic-regression` (it loads no TensorFlow.js).
 */

export interface Dataset {
  features: Float32Array; // row-major, numExamples × numFeatures
  labels: Float32Array; // 0 or 1
  numExamples: number;
  numFeatures: number;
}

export interface Model {
  weights: Float32Array;
  bias: Float32Array; // length 1
}

/** A node's training and test data, from (seed, partition): the same inputs give the same data. */
export function loadPartition(
  seed: number,
  partitionId: number,
  numFeatures: number,
  numExamples: number,
) {
  const truth = createRng(seed, "quickstart-truth");
  const trueWeights = Float32Array.from({ length: numFeatures }, () => truth.normal());
  const rng = createRng(seed, "quickstart-data", partitionId);
  const make = (n: number): Dataset => {
    const features = new Float32Array(n * numFeatures);
    const labels = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let logit = 0.5; // the true bias
      for (let j = 0; j < numFeatures; j++) {
        const x = rng.normal() + 0.3 * partitionId; // shifted per node: the data is not IID
        features[i * numFeatures + j] = x;
        logit += (trueWeights[j] as number) * x;
      }
      labels[i] = rng.next() < sigmoid(logit) ? 1 : 0;
    }
    return { features, labels, numExamples: n, numFeatures };
  };
  return { train: make(numExamples), test: make(Math.ceil(numExamples / 4)) };
}

/** The initial global model, drawn from the run seed. */
export function initialModel(seed: number, numFeatures: number): Model {
  const rng = createRng(seed, "quickstart-init");
  return {
    weights: Float32Array.from({ length: numFeatures }, () => 0.01 * rng.normal()),
    bias: new Float32Array(1),
  };
}

/** FedProx's proximal term (μ/2)·‖w − w_global‖², which adds μ·(w − w_global) to the gradient. */
export interface Proximal {
  mu: number;
  /** The global model this round started from. */
  globalModel: Model;
}

/**
 * Plain SGD, one example at a time, in an order drawn from `rng`. Updates `model` in place.
 * With `proximal` (FedProx), each step also pulls the model towards the global one.
 */
export function train(
  model: Model,
  data: Dataset,
  epochs: number,
  lr: number,
  rng: Rng,
  proximal?: Proximal,
): { loss: number } {
  const order = Array.from({ length: data.numExamples }, (_, i) => i);
  let loss = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    rng.shuffle(order);
    loss = 0;
    for (const i of order) {
      const p = predict(model, data, i);
      const y = data.labels[i] as number;
      loss += crossEntropy(p, y);
      const g = Math.fround(lr * (p - y));
      for (let j = 0; j < data.numFeatures; j++) {
        const w = model.weights[j] as number;
        let next = w - Math.fround(g * (data.features[i * data.numFeatures + j] as number));
        if (proximal) next -= pull(proximal, lr, w, proximal.globalModel.weights[j] as number);
        model.weights[j] = next;
      }
      const b = model.bias[0] as number;
      let nextBias = b - g;
      if (proximal) nextBias -= pull(proximal, lr, b, proximal.globalModel.bias[0] as number);
      model.bias[0] = nextBias;
    }
  }
  return { loss: loss / data.numExamples };
}

/** lr·μ·(w − w_global): the proximal term's share of one SGD step. */
function pull(proximal: Proximal, lr: number, w: number, globalW: number): number {
  return Math.fround(lr * proximal.mu * (w - globalW));
}

export function evaluate(model: Model, data: Dataset): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < data.numExamples; i++) {
    const p = predict(model, data, i);
    const y = data.labels[i] as number;
    loss += crossEntropy(p, y);
    if ((p >= 0.5 ? 1 : 0) === y) correct++;
  }
  return { loss: loss / data.numExamples, accuracy: correct / data.numExamples };
}

function predict(model: Model, data: Dataset, i: number): number {
  let logit = model.bias[0] as number;
  for (let j = 0; j < data.numFeatures; j++) {
    logit += (model.weights[j] as number) * (data.features[i * data.numFeatures + j] as number);
  }
  return sigmoid(logit);
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function crossEntropy(p: number, y: number): number {
  const eps = 1e-7;
  return -(y * Math.log(p + eps) + (1 - y) * Math.log(1 - p + eps));
}
