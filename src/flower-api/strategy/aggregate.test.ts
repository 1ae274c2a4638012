import { describe, expect, it } from "vitest";
import { decodeNpy, encodeNpy, NUMPY_STYPE } from "../../core/numeric/npy.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { aggregateArrayRecords } from "./aggregate.ts";

/** A reply's content with one float32 array, its NPY bytes at `offset` of a larger buffer. */
function reply(values: number[], examples: number, offset: number): RecordDict {
  const npy = encodeNpy("float32", [values.length], Float32Array.from(values));
  const buffer = new Uint8Array(npy.length + offset);
  buffer.set(npy, offset);
  const w = new FlowerArray({
    dtype: "float32",
    shape: [values.length],
    stype: NUMPY_STYPE,
    data: buffer.subarray(offset),
  });
  return new RecordDict({
    arrays: new ArrayRecord([["w", w]]),
    metrics: new MetricRecord({ "num-examples": examples }),
  });
}

describe("aggregateArrayRecords", () => {
  it("averages float32 arrays received at any alignment into NPY bytes of the result", () => {
    const aligned = aggregateArrayRecords(
      [reply([1, 2, 3], 1, 0), reply([3, 4, 6], 3, 0)],
      "num-examples",
    );
    const misaligned = aggregateArrayRecords(
      [reply([1, 2, 3], 1, 1), reply([3, 4, 6], 3, 3)],
      "num-examples",
    );
    for (const record of [aligned, misaligned]) {
      const w = record.get("w") as FlowerArray;
      expect([w.dtype, w.shape, w.stype]).toEqual(["float32", [3], NUMPY_STYPE]);
      const { dtype, values } = decodeNpy(w.data);
      expect(dtype).toBe("float32");
      expect(Array.from(values as Float32Array)).toEqual([2.5, 3.5, 5.25]);
    }
  });

  it("refuses a shape that does not fit the values, saying so", () => {
    const bad = reply([1, 2, 3], 1, 0);
    const w = bad.arrayRecords.get("arrays")?.get("w") as FlowerArray;
    const lying = new FlowerArray({
      dtype: "float32",
      shape: [4],
      stype: NUMPY_STYPE,
      data: w.data,
    });
    const content = new RecordDict({
      arrays: new ArrayRecord([["w", lying]]),
      metrics: new MetricRecord({ "num-examples": 1 }),
    });
    expect(() => aggregateArrayRecords([content], "num-examples")).toThrow(
      /shape \[4\] does not fit 3 values/,
    );
  });
});
