import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { decodeNpy } from "../../core/numeric/npy.ts";
import {
  ArrayRecordSchema,
  type Array as ProtoArray,
  RecordDictSchema,
} from "../../gen/flwr/proto/recorddict_pb.ts";
import { arrayEntries, float32Values, zerosFloat32 } from "../shareable/records.ts";
import { DataKind, type Shareable } from "../shareable/shareable.ts";
import type { Filter } from "./filter.ts";

/**
 * A WEIGHTS result seen as the update FLARE's privacy filters expect: for each float32 array
 * of the result with a same-named (same record, same key), same-shape float32 array in the
 * model its task brought, result − received. A filter that changes WEIGHT_DIFF only works on
 * that; the result is then received + filtered update. An array without such a counterpart
 * (a new array, or one whose shape changed) goes to the filter as it is: an update from
 * nothing, so no array of a result escapes the filter. Arrays of other dtypes pass as they are.
 */

/** The float32 arrays of the model a task brought, by record and key: copies of their values. */
export type ReceivedModel = ReadonlyMap<string, { shape: readonly number[]; values: Float32Array }>;

/** Whether `filter` sees a WEIGHTS result as an update: it changes WEIGHT_DIFF, not WEIGHTS. */
export function seesUpdate(filter: Filter): boolean {
  const kinds = filter.dataKinds ?? [];
  return kinds.includes(DataKind.WEIGHT_DIFF) && !kinds.includes(DataKind.WEIGHTS);
}

/**
 * The model `taskData` brought (as the executor receives it), or undefined if it brought no
 * float32 array. Copied: an executor may write into the arrays it was given.
 */
export function receivedModel(taskData: Shareable): ReceivedModel | undefined {
  const model = new Map<string, { shape: readonly number[]; values: Float32Array }>();
  for (const { record, name, array } of arrayEntries(taskData.records))
    if (array.dtype === "float32")
      model.set(keyOf(record, name), {
        shape: [...array.shape],
        values: Float32Array.from(float32Values(array, `array ${record}/${name}`)),
      });
  return model.size > 0 ? model : undefined;
}

export interface UpdateView {
  /** The result as a WEIGHT_DIFF shareable, for the filters (its own records). */
  update: Shareable;
  /**
   * The result again from the filtered update: received + update for each array the filters
   * changed; an array whose update they left as it was keeps the result's own bytes, since
   * (a − b) + b is not always a in float32.
   */
  rebuild(filtered: Shareable): Shareable;
}

export function updateView(result: Shareable, received: ReceivedModel): UpdateView {
  /** The arrays shown as differences: their received values and the result's own array. */
  const viewed = new Map<string, { base: Float32Array; original: ProtoArray }>();
  const records = create(RecordDictSchema, {
    items: result.records.items.map((item) => {
      if (item.value.case !== "arrayRecord") return item;
      const items = item.value.value.items.map((entry) => {
        const base = entry.value && counterpart(received, item.key, entry.key, entry.value);
        if (entry.value === undefined || base === undefined) return entry;
        viewed.set(keyOf(item.key, entry.key), { base, original: entry.value });
        const values = float32Values(entry.value);
        const diff = zerosFloat32(entry.value.shape);
        for (let i = 0; i < values.length; i++)
          diff.values[i] = (values[i] as number) - (base[i] as number);
        return { key: entry.key, value: diff.array };
      });
      return {
        key: item.key,
        value: { case: "arrayRecord" as const, value: create(ArrayRecordSchema, { items }) },
      };
    }),
  });
  return {
    update: { kind: DataKind.WEIGHT_DIFF, records, meta: result.meta },
    rebuild(filtered) {
      for (const item of filtered.records.items) {
        if (item.value.case !== "arrayRecord") continue;
        for (const entry of item.value.value.items) {
          const key = keyOf(item.key, entry.key);
          const made = viewed.get(key);
          if (made === undefined || entry.value === undefined) continue;
          entry.value = addBack(entry.value, made.base, made.original, `${item.key}/${entry.key}`);
        }
      }
      return { ...filtered, kind: result.kind };
    },
  };
}

/** The received values of the result's array `record/name`, if it has a counterpart. */
function counterpart(
  received: ReceivedModel,
  record: string,
  name: string,
  array: ProtoArray,
): Float32Array | undefined {
  const base = received.get(keyOf(record, name));
  if (array.dtype !== "float32" || base === undefined) return undefined;
  const sameShape =
    base.shape.length === array.shape.length && base.shape.every((n, i) => n === array.shape[i]);
  return sameShape ? base.values : undefined;
}

/**
 * base + the filtered update, or the result's own array if the update is bit for bit
 * original − base still (so a filter that writes into the bytes in place is seen too).
 */
function addBack(update: ProtoArray, base: Float32Array, original: ProtoArray, what: string) {
  const values = update.dtype === "float32" ? decodeNpy(update.data).values : undefined;
  if (!(values instanceof Float32Array) || values.length !== base.length)
    throw new FedbridgeError(
      Code.Internal,
      `the update of array ${what} is no longer float32 of ${base.length} values: it cannot be added back to the received model`,
    );
  const before = float32Values(original);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  let changed = false;
  for (let i = 0; i < values.length && !changed; i++) {
    scratch[0] = (before[i] as number) - (base[i] as number);
    changed = scratchBits[0] !== bits[i];
  }
  if (!changed) return original;
  const rebuilt = zerosFloat32(original.shape);
  for (let i = 0; i < values.length; i++)
    rebuilt.values[i] = (base[i] as number) + (values[i] as number);
  rebuilt.array.stype = original.stype;
  return rebuilt.array;
}

const keyOf = (record: string, name: string) => JSON.stringify([record, name]);
