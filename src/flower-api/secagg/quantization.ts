import { createHash } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createRng, type Rng } from "../../core/numeric/random.ts";
import type { ArrayRecord } from "../records/array-record.ts";

/** How floats map to the integers that are masked and summed. */
export interface QuantizationParams {
  /** Values are clipped to [−clippingRange, clippingRange]. */
  clippingRange: number;
  /** The clipped range maps onto the integers [0, quantizationRange]. */
  quantizationRange: number;
}

/**
 * Quantizes `scale · values` into `out` from `offset`: clipped to [−c, c], shifted and
 * scaled onto [0, T] (c = clippingRange, T = quantizationRange), then rounded
 * stochastically, up with probability equal to the fraction, so the quantized value is
 * unbiased and within one step 2c/T of the exact one. The rounding draws from `rng`, which
 * callers seed deterministically, so the same update always quantizes the same way (and the
 * secure aggregate is reproducible bit for bit). Refuses NaN and infinite values.
 */
export function quantizeInto(
  out: Uint32Array,
  offset: number,
  values: ArrayLike<number | bigint>,
  scale: number,
  params: QuantizationParams,
  rng: Rng,
): void {
  const c = params.clippingRange;
  const perUnit = params.quantizationRange / (2 * c);
  for (let k = 0; k < values.length; k++) {
    const y = Number(values[k]) * scale;
    if (!Number.isFinite(y)) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `SecAgg+ cannot quantize a non-finite value (${values[k]} at index ${k})`,
      );
    }
    const v = (Math.min(c, Math.max(-c, y)) + c) * perUnit;
    const floor = Math.floor(v);
    out[offset + k] = floor + (rng.next() < v - floor ? 1 : 0);
  }
}

/**
 * The inverse of quantization for a sum of `count` quantized vectors: each integer back to
 * the sum of the `count` clipped values (the `count` shifts of c removed).
 */
export function dequantizeSum(
  quantizedSum: number,
  count: number,
  params: QuantizationParams,
): number {
  const step = (2 * params.clippingRange) / params.quantizationRange;
  return quantizedSum * step - count * params.clippingRange;
}

/**
 * A node's weight as the integer it contributes to the masked sum: round(w / maxWeight · T).
 * Its update is multiplied by the same quantized ratio before quantization, so the unmasked
 * sums divide into the weighted average.
 */
export function quantizeWeight(
  weight: number,
  maxWeight: number,
  quantizationRange: number,
): number {
  return Math.round((weight / maxWeight) * quantizationRange);
}

/**
 * A node's update as the flat vector it masks: its quantized weight q, then each array's
 * values times q/T, quantized. The stochastic rounding is seeded from the run seed and the
 * update's SHA-256, so it is reproducible without depending on node ids (which differ
 * between modes) and without the server being able to predict it.
 */
export function quantizeUpdate(
  arrays: ArrayRecord,
  weight: number,
  params: QuantizationParams & { maxWeight: number },
  runSeed: string,
): Uint32Array {
  const hash = createHash("sha256");
  for (const [key, array] of arrays) hash.update(key).update(array.data);
  const rng = createRng("secaggplus-quantize", runSeed, hash.digest("hex"));
  const length = 1 + [...arrays.values()].reduce((n, a) => n + a.size, 0);
  const vector = new Uint32Array(length);
  const q = quantizeWeight(weight, params.maxWeight, params.quantizationRange);
  vector[0] = q;
  let offset = 1;
  for (const array of arrays.values()) {
    quantizeInto(vector, offset, array.toTypedArray(), q / params.quantizationRange, params, rng);
    offset += array.size;
  }
  return vector;
}
