import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import type { RecordDict } from "../records/record-dict.ts";

/**
 * The float math the robust and adaptive strategies share. Values are worked in float64;
 * a result takes the dtype of the array it replaces when that is float32 (numpy keeps
 * float32 through these operations) and is float64 otherwise (numpy promotes ints).
 */

/** The one ArrayRecord of a reply (`checkReplyConsistency` made sure there is one). */
export function arraysOf(content: RecordDict): ArrayRecord {
  const [arrays] = content.arrayRecords.values();
  if (arrays === undefined)
    throw new FedbridgeError(Code.FailedPrecondition, "reply has no ArrayRecord");
  return arrays;
}

export function toFloat64(array: FlowerArray): Float64Array {
  return Float64Array.from(array.toTypedArray() as ArrayLike<number>, Number);
}

/** `values` as a FlowerArray shaped like `like`, in its dtype if float32, else in float64. */
export function fromFloat64(values: Float64Array, like: FlowerArray): FlowerArray {
  const typed = like.dtype === "float32" ? Float32Array.from(values) : values;
  return FlowerArray.fromTypedArray(typed, like.shape);
}

/**
 * Applies `combine` to each array (by key, in the order of the first record) across
 * `records`: it gets the records' values of that array in float64 and gives the result.
 */
export function combineArrays(
  records: readonly ArrayRecord[],
  combine: (layers: Float64Array[], key: string) => Float64Array,
): ArrayRecord {
  const [first] = records;
  const out = new ArrayRecord();
  if (first === undefined) return out;
  for (const [key, like] of first) {
    const layers = records.map((record) => toFloat64(record.get(key) as FlowerArray));
    out.set(key, fromFloat64(combine(layers, key), like));
  }
  return out;
}

/** Applies `reduce` to each coordinate: the values at index j of every layer. */
export function coordinatewise(
  layers: readonly Float64Array[],
  reduce: (column: number[]) => number,
): Float64Array {
  const out = new Float64Array(layers[0]?.length ?? 0);
  for (let j = 0; j < out.length; j++) out[j] = reduce(layers.map((l) => l[j] as number));
  return out;
}

/** The median, as numpy's: the mean of the two middle values of an even count. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
