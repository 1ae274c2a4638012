import type { Array as ProtoArray, RecordDict } from "../../gen/flwr/proto/recorddict_pb.ts";

/** One array of a flwr.proto RecordDict, with where it sits. */
export interface ArrayEntry {
  /** The ArrayRecord's key in the RecordDict. */
  record: string;
  /** The array's key in its ArrayRecord. */
  name: string;
  array: ProtoArray;
}

/** Every array of `records`, in order: record by record, array by array. */
export function arrayEntries(records: RecordDict): ArrayEntry[] {
  return records.items.flatMap((item) =>
    item.value.case === "arrayRecord"
      ? item.value.value.items.flatMap((entry) =>
          entry.value ? [{ record: item.key, name: entry.key, array: entry.value }] : [],
        )
      : [],
  );
}

/** Every array of `records`, in `arrayEntries`'s order. */
export function protoArrays(records: RecordDict): ProtoArray[] {
  return arrayEntries(records).map((entry) => entry.array);
}
