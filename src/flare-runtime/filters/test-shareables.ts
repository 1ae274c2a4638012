import {
  arrayEntries,
  arrayRecord,
  float32Array,
  float32Values,
  recordDict,
} from "../shareable/records.ts";
import { createShareable, type Shareable } from "../shareable/shareable.ts";
import type { FilterContext } from "./filter.ts";

/** Test helpers: shareables of named float32 arrays, and their values read back. */

/** A shareable of `kind` whose ArrayRecords hold the given 1-d arrays (a number is a 0-d array). */
export function shareableOf(
  kind: string,
  arrays: Record<string, Record<string, number[] | number>>,
  metrics?: Record<string, Record<string, number>>,
): Shareable {
  const records = Object.fromEntries(
    Object.entries(arrays).map(([record, named]) => [
      record,
      arrayRecord(
        Object.entries(named).map(([name, values]) => [
          name,
          typeof values === "number"
            ? float32Array(Float32Array.of(values), [])
            : float32Array(Float32Array.from(values), [values.length]),
        ]),
      ),
    ]),
  );
  return createShareable(
    kind,
    recordDict(metrics ? { arrays: records, metrics } : { arrays: records }),
  );
}

/** Every array's values, keyed "record/name". */
export function valuesOf(shareable: Shareable): Record<string, number[]> {
  return Object.fromEntries(
    arrayEntries(shareable.records).map((entry) => [
      `${entry.record}/${entry.name}`,
      [...float32Values(entry.array)],
    ]),
  );
}

/** All values of all arrays, in order. */
export function flatValues(shareable: Shareable): number[] {
  return Object.values(valuesOf(shareable)).flat();
}

export function contextOf(overrides: Partial<FilterContext> = {}): FilterContext {
  return {
    site: "site-1",
    jobId: "job-1",
    task: "train",
    direction: "taskResult",
    round: 1,
    ...overrides,
  };
}

/** `values` rounded to float32, as they come back from an array. */
export const f32 = (values: number[]): number[] => values.map(Math.fround);
