import { z } from "zod";
import { encodeNpy } from "../../core/numeric/npy.ts";
import type { RecordDict } from "../../gen/flwr/proto/recorddict_pb.ts";
import { type ArrayEntry, arrayEntries, float32Values } from "../shareable/records.ts";
import { DataKind, type Shareable } from "../shareable/shareable.ts";

/**
 * The model update a privacy filter works on: which kinds of shareable it touches, and the
 * float32 arrays of its records as copies the filter may change, then write back. Arrays of
 * other dtypes (counters such as a batch norm's num_batches_tracked) are left as they are.
 */

/** The kinds a privacy filter may be set to change (FLARE's supported_data_kinds). */
export const dataKindsArg = z.array(z.enum([DataKind.WEIGHT_DIFF, DataKind.WEIGHTS])).min(1);

/**
 * Whether a filter set to `kinds` changes `shareable`; one of another kind passes unchanged,
 * as FLARE's DXOFilter logs and skips it.
 */
export function filtersKind(kinds: readonly string[], shareable: Shareable): boolean {
  return kinds.includes(shareable.kind);
}

/** One float32 array of an update, flattened. */
export interface FloatTensor {
  entry: ArrayEntry;
  /** A copy of the array's values, in C order. */
  values: Float32Array;
  /** A 0-d array: one value with no shape, which FLARE's filters treat apart. */
  scalar: boolean;
}

export interface FloatUpdate {
  tensors: FloatTensor[];
  /** How many values the tensors hold together. */
  size: number;
  /** Writes every tensor's values back into its array's NPY bytes. */
  commit(): void;
}

/** The float32 arrays of `records`, in RecordDict order. */
export function readFloatUpdate(records: RecordDict): FloatUpdate {
  const tensors = arrayEntries(records)
    .filter((entry) => entry.array.dtype === "float32")
    .map((entry) => ({
      entry,
      values: Float32Array.from(float32Values(entry.array, `array ${entry.record}/${entry.name}`)),
      scalar: entry.array.shape.length === 0,
    }));
  return {
    tensors,
    size: tensors.reduce((sum, tensor) => sum + tensor.values.length, 0),
    commit() {
      for (const { entry, values } of tensors)
        entry.array.data = encodeNpy("float32", entry.array.shape, values);
    },
  };
}
