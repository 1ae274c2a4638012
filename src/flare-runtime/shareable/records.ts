import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { decodeNpy, encodeNpy, NUMPY_STYPE, zerosFloat32Npy } from "../../core/numeric/npy.ts";
import { type ArrayEntry, arrayEntries, protoArrays } from "../../core/wire/record-arrays.ts";
import {
  type ArrayRecord,
  ArrayRecordSchema,
  ArraySchema,
  MetricRecordSchema,
  type Array as ProtoArray,
  type RecordDict,
  RecordDictSchema,
} from "../../gen/flwr/proto/recorddict_pb.ts";

/**
 * The runtime's view of flwr.proto records: named float arrays and metrics, with no
 * Flower-style classes (the runtime may not import them). Arrays hold NPY bytes, as Flower's
 * do, so records pass between the two worlds unchanged.
 */

// Where a RecordDict's arrays sit: shared with the Flower-style API (core/wire/record-arrays.ts).
export { type ArrayEntry, arrayEntries, protoArrays };

/** A float32 array's values: a view into its bytes where aligned, else a copy. */
export function float32Values(array: ProtoArray, what = "array"): Float32Array {
  if (array.dtype !== "float32")
    throw new FedbridgeError(Code.InvalidArgument, `${what} is ${array.dtype}, not float32`);
  return decodeNpy(array.data).values as Float32Array;
}

/** A float32 proto Array of `values` (copied into NPY bytes). */
export function float32Array(values: Float32Array, shape: readonly number[]): ProtoArray {
  return create(ArraySchema, {
    dtype: "float32",
    shape: [...shape],
    stype: NUMPY_STYPE,
    data: encodeNpy("float32", shape, values),
  });
}

/**
 * A float32 proto Array of zeros and the view to fill it through: a large model built in
 * place, without a second copy.
 */
export function zerosFloat32(shape: readonly number[]): {
  array: ProtoArray;
  values: Float32Array;
} {
  const { bytes, values } = zerosFloat32Npy(shape);
  const array = create(ArraySchema, {
    dtype: "float32",
    shape: [...shape],
    stype: NUMPY_STYPE,
    data: bytes,
  });
  return { array, values };
}

/** An ArrayRecord of named arrays, in the order given. */
export function arrayRecord(arrays: Iterable<[string, ProtoArray]>): ArrayRecord {
  return create(ArrayRecordSchema, {
    items: [...arrays].map(([key, value]) => ({ key, value })),
  });
}

/** A RecordDict of ArrayRecords and flat metric records (numbers as doubles). */
export function recordDict(parts: {
  arrays?: Record<string, ArrayRecord>;
  metrics?: Record<string, Record<string, number>>;
}): RecordDict {
  const items: RecordDict["items"] = [];
  for (const [key, value] of Object.entries(parts.arrays ?? {}))
    items.push({ key, value: { case: "arrayRecord", value } } as RecordDict["items"][number]);
  for (const [key, metrics] of Object.entries(parts.metrics ?? {})) {
    const value = create(MetricRecordSchema, {
      items: Object.entries(metrics).map(([name, number]) => ({
        key: name,
        value: { value: { case: "double" as const, value: number } },
      })),
    });
    items.push({ key, value: { case: "metricRecord", value } } as RecordDict["items"][number]);
  }
  return create(RecordDictSchema, { items });
}

/** Every number of every MetricRecord of `records`, by name (lists are left out). */
export function metricValues(records: RecordDict): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of records.items) {
    if (item.value.case !== "metricRecord") continue;
    for (const entry of item.value.value.items) {
      const value = entry.value?.value;
      if (value?.case === "double") out[entry.key] = value.value;
      else if (value?.case === "sint64" || value?.case === "uint64")
        out[entry.key] = Number(value.value);
    }
  }
  return out;
}

/** Removes the arrays `drop` says to; returns how many went. */
export function removeArrays(records: RecordDict, drop: (entry: ArrayEntry) => boolean): number {
  let removed = 0;
  for (const item of records.items) {
    if (item.value.case !== "arrayRecord") continue;
    const kept = item.value.value.items.filter(
      (entry) => !(entry.value && drop({ record: item.key, name: entry.key, array: entry.value })),
    );
    removed += item.value.value.items.length - kept.length;
    item.value.value.items = kept;
  }
  return removed;
}

/** SHA-256 over every array's bytes, in order: a model's fingerprint. */
export function arraysSha256(records: RecordDict): string {
  const hash = createHash("sha256");
  for (const array of protoArrays(records)) hash.update(array.data);
  return hash.digest("hex");
}
