import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { clipScale, l2Norm } from "../../core/numeric/clip-scale.ts";
import type { PrivacyRandom } from "../../core/numeric/privacy-random.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";

/** ConfigRecord key with which a client-side clipping wrapper sends its norm to the mods. */
export const KEY_CLIPPING_NORM = "clipping_norm";
/** MetricRecord key with which `adaptiveClippingMod` tells the server it clipped (1) or not (0). */
export const KEY_NORM_BIT = "norm_bit";

/** The values of one model array that DP may change: float32 or float64. */
export type FloatArray = Float32Array | Float64Array;

/** The L2 norm of all the arrays flattened into one vector (summed in float64): Flower's name. */
export function getNorm(arrays: readonly FloatArray[]): number {
  return l2Norm(arrays);
}

/**
 * Scales all arrays by min(1, clippingNorm / norm) in place: Flower's FlatClip
 * (McMahan et al., https://arxiv.org/abs/1710.06963). Returns whether they were scaled down,
 * Flower's "norm bit".
 */
export function clipInputsInplace(arrays: readonly FloatArray[], clippingNorm: number): boolean {
  const scale = clipScale(arrays, clippingNorm);
  if (scale < 1)
    for (const values of arrays) for (let i = 0; i < values.length; i++) values[i] *= scale;
  return scale < 1;
}

/**
 * Clips the model update `param1 − param2` to `clippingNorm` and writes `param2 + update`
 * back into `param1`: what a clipped node would have sent. Returns the norm bit (true when
 * the update was scaled down), Flower's `compute_adaptive_clip_model_update`.
 */
export function computeClipModelUpdate(
  param1: readonly FloatArray[],
  param2: readonly FloatArray[],
  clippingNorm: number,
): boolean {
  if (param1.length !== param2.length) {
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `cannot clip an update of ${param1.length} arrays against a model of ${param2.length}`,
    );
  }
  const update = param1.map((values, i) => {
    const base = param2[i] as FloatArray;
    if (base.length !== values.length) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `array ${i} has ${values.length} values but the model it updates has ${base.length}`,
      );
    }
    return Float64Array.from(values, (v, j) => v - (base[j] as number));
  });
  const clipped = clipInputsInplace(update, clippingNorm);
  param1.forEach((values, i) => {
    const base = param2[i] as FloatArray;
    const delta = update[i] as Float64Array;
    for (let j = 0; j < values.length; j++) values[j] = (base[j] as number) + (delta[j] as number);
  });
  return clipped;
}

/**
 * Adds independent N(0, stdDev²) noise to every value, drawn from `random`: a PrivacyRandom (an
 * AES-CTR keystream), as the runtime's privacy filters use, since whoever could recover a plain
 * PRNG's state from some of the noise could predict, and take off, the rest.
 */
export function addGaussianNoiseInplace(
  arrays: readonly FloatArray[],
  stdDev: number,
  random: PrivacyRandom,
): void {
  if (stdDev === 0) return;
  for (const values of arrays)
    for (let i = 0; i < values.length; i++) values[i] += stdDev * random.normal();
}

/**
 * The standard deviation of the noise on the average of `numSampledClients` updates each
 * clipped to `clippingNorm`: z·C/m (https://arxiv.org/abs/1710.06963), as the sum has
 * sensitivity C and gets noise z·C.
 */
export function computeStdv(
  noiseMultiplier: number,
  clippingNorm: number,
  numSampledClients: number,
): number {
  return (noiseMultiplier * clippingNorm) / numSampledClients;
}

/** What `computeAdaptiveNoiseParams` gives. */
export interface AdaptiveNoiseParams {
  /** σ_b, the standard deviation of the noise on the count of clipped updates. */
  clippedCountStddev: number;
  /** z_Δ, the noise multiplier of the model noise, so that both together give the requested z. */
  noiseMultiplier: number;
  /** z_Δ / z: 2 or more deserves a warning (Flower logs one). */
  noiseIncrease: number;
}

/**
 * Splits the requested noise multiplier z between the model and the clipped count, as
 * Flower's `compute_adaptive_noise_params` (Andrew et al., https://arxiv.org/abs/1905.03871,
 * §3.1): σ_b defaults to m/20, and z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2). With z = 0 there is no
 * noise (σ_b defaults to 0). Throws InvalidArgument when z ≥ 2σ_b, as no z_Δ exists then.
 */
export function computeAdaptiveNoiseParams(
  noiseMultiplier: number,
  numSampledClients: number,
  clippedCountStddev: number | undefined,
): AdaptiveNoiseParams {
  if (noiseMultiplier <= 0) {
    return { clippedCountStddev: clippedCountStddev ?? 0, noiseMultiplier: 0, noiseIncrease: 1 };
  }
  const countStddev = clippedCountStddev ?? numSampledClients / 20;
  if (noiseMultiplier >= 2 * countStddev) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `clippedCountStddev ${countStddev}${clippedCountStddev === undefined ? " (numSampledClients/20 by default)" : ""} is too low for the noise multiplier ${noiseMultiplier}: it must be more than half of it; raise clippedCountStddev or lower noiseMultiplier`,
    );
  }
  const value = (noiseMultiplier ** -2 - (2 * countStddev) ** -2) ** -0.5;
  return {
    clippedCountStddev: countStddev,
    noiseMultiplier: value,
    noiseIncrease: value / noiseMultiplier,
  };
}

/**
 * The standard deviation of the classic Gaussian mechanism for (ε, δ)-DP,
 * Δ·√(2 ln(1.25/δ))/ε (Dwork and Roth, Theorem A.1; the bound holds for ε < 1), as
 * Flower's LocalDpMod uses it.
 */
export function localDpStdDev(sensitivity: number, epsilon: number, delta: number): number {
  return (sensitivity * Math.sqrt(2 * Math.log(1.25 / delta))) / epsilon;
}

/**
 * Copies of an ArrayRecord's values, for DP to change. Only float32 and float64 arrays can
 * be clipped or noised; another dtype is refused with FailedPrecondition naming the array.
 */
export function floatArraysOf(record: ArrayRecord, what: string): FloatArray[] {
  return [...record].map(([name, array]) => {
    const values = array.toTypedArray();
    if (values instanceof Float32Array || values instanceof Float64Array) return values.slice();
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `${what}: array '${name}' has dtype ${array.dtype}; differential privacy clips and noises float32 or float64 arrays only`,
    );
  });
}

/** A new ArrayRecord with `record`'s keys and shapes and the given values. */
export function withValues(record: ArrayRecord, values: readonly FloatArray[]): ArrayRecord {
  const arrays = [...record];
  return new ArrayRecord(
    arrays.map(([name, array], i) => [
      name,
      FlowerArray.fromTypedArray(values[i] as FloatArray, array.shape),
    ]),
  );
}

/** An InvalidArgument FedbridgeError, for the checks of DP parameters. */
export function invalid(message: string): FedbridgeError {
  return new FedbridgeError(Code.InvalidArgument, message);
}
