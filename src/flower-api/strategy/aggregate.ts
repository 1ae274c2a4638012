import { NUMPY_STYPE, type NumericTypedArray, zerosFloat32Npy } from "../../core/numeric/npy.ts";
import {
  type Float32Input,
  floatCount,
  weightedSumFloat32,
} from "../../core/numeric/weighted-sum.ts";
import type { Message } from "../message/message.ts";
import { deflateRecordDict } from "../objects/deflate.ts";
import { checkShapeFits, FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { MetricRecord, type MetricValue } from "../records/metric-record.ts";
import type { RecordDict } from "../records/record-dict.ts";

/**
 * Orders replies by the content id (SHA-256) of what they carry: an order that depends
 * neither on arrival nor on node ids, which differ between modes. Summing floats in this
 * order makes aggregation, and so the final model, bit-identical in every mode.
 */
export function orderByContent(replies: readonly Message[]): Message[] {
  const keyed = replies.map((reply) => ({ reply, id: deflateRecordDict(reply.content).id }));
  keyed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return keyed.map(({ reply }) => reply);
}

/** The weight of each record: the value at `weightKey` of its (only) MetricRecord. */
function weightsOf(records: readonly RecordDict[], weightKey: string): number[] {
  return records.map((record) =>
    Number([...record.metricRecords.values()][0]?.get(weightKey) ?? 0),
  );
}

function weightFactors(records: readonly RecordDict[], weightKey: string): number[] {
  const weights = weightsOf(records, weightKey);
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/**
 * Weighted average of the ArrayRecords, as Flower's `aggregate_arrayrecords`: float32
 * arrays average in float32 (the WebAssembly SIMD kernel), other dtypes in float64, as
 * numpy promotes them.
 */
export function aggregateArrayRecords(
  records: readonly RecordDict[],
  weightKey: string,
): ArrayRecord {
  const factors = weightFactors(records, weightKey);
  const byName = new Map<string, FlowerArray[]>();
  for (const record of records) {
    for (const arrayRecord of record.arrayRecords.values()) {
      for (const [name, array] of arrayRecord) {
        const arrays = byName.get(name) ?? [];
        arrays.push(array);
        byName.set(name, arrays);
      }
    }
  }
  const out = new ArrayRecord();
  for (const [name, arrays] of byName) {
    const weights = factors.slice(0, arrays.length);
    const { shape, dtype } = arrays[0] as FlowerArray;
    out.set(
      name,
      dtype === "float32"
        ? averageFloat32(arrays, weights, shape)
        : FlowerArray.fromTypedArray(
            weightedSumFloat64(
              arrays.map((a) => a.toTypedArray()),
              weights,
            ),
            shape,
          ),
    );
  }
  return out;
}

/**
 * The float32 average, read from the arrays' NPY bytes where they lie (no aligned copy of a
 * received array) and written into the NPY bytes of the result (no copy to encode it).
 */
function averageFloat32(
  arrays: readonly FlowerArray[],
  weights: readonly number[],
  shape: readonly number[],
): FlowerArray {
  const inputs = arrays.map((array): Float32Input => {
    const { dtype, values } = array.valueBytes();
    // Declared float32 but stored as another dtype: its values, converted as numpy would.
    return dtype === "float32"
      ? values
      : Float32Array.from(array.toTypedArray() as ArrayLike<number>);
  });
  checkShapeFits(shape, floatCount(inputs[0] as Float32Input));
  const { bytes, values } = zerosFloat32Npy(shape);
  weightedSumFloat32(inputs, weights, values);
  return new FlowerArray({ dtype: "float32", shape, stype: NUMPY_STYPE, data: bytes });
}

function weightedSumFloat64(
  inputs: readonly NumericTypedArray[],
  weights: readonly number[],
): Float64Array {
  const out = new Float64Array(inputs[0]?.length ?? 0);
  inputs.forEach((input, i) => {
    const w = weights[i] as number;
    for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + Number(input[j]) * w;
  });
  return out;
}

/**
 * Weighted average of the MetricRecords, as Flower's `aggregate_metricrecords`: each
 * metric (and list element) averaged with the weights, the weight key itself left out.
 */
export function aggregateMetricRecords(
  records: readonly RecordDict[],
  weightKey: string,
): MetricRecord {
  const factors = weightFactors(records, weightKey);
  const sums = new Map<string, number | number[]>();
  records.forEach((record, i) => {
    const w = factors[i] as number;
    for (const metrics of record.metricRecords.values()) {
      for (const [key, value] of metrics) {
        if (key === weightKey) continue;
        sums.set(key, addWeighted(sums.get(key), value, w));
      }
    }
  });
  const out = new MetricRecord();
  for (const [key, value] of sums)
    out.setWithKind(key, value, typeof value === "number" ? "double" : "doubleList");
  return out;
}

function addWeighted(
  current: number | number[] | undefined,
  value: MetricValue,
  w: number,
): number | number[] {
  if (typeof value === "number" || typeof value === "bigint") {
    return ((current as number | undefined) ?? 0) + Number(value) * w;
  }
  const list = [...value].map(
    (v, j) => ((current as number[] | undefined)?.[j] ?? 0) + Number(v) * w,
  );
  return list;
}
