import { describe, expect, it } from "vitest";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { decodeNpy } from "../../core/numeric/npy.ts";
import { FlowerArray } from "./array.ts";
import { ArrayRecord } from "./array-record.ts";
import { ConfigRecord } from "./config-record.ts";
import { MetricRecord } from "./metric-record.ts";
import { RecordDict } from "./record-dict.ts";
import {
  decodeArrayRecord,
  decodeConfigRecord,
  decodeMetricRecord,
  decodeRecordDict,
  encodeConfigRecord,
  encodeMetricRecord,
  encodeRecordDict,
} from "./serde.ts";

describe("Array", () => {
  it("round-trips every numeric typed array through NPY bytes", () => {
    const cases = [
      new Float32Array([1.5, -2, 3]),
      new Float64Array([Math.PI]),
      new Int8Array([-1, 2]),
      new Int16Array([300, -300]),
      new Int32Array([1, -2, 3, 4]),
      new BigInt64Array([1n, -(2n ** 62n)]),
      new Uint8Array([0, 255]),
      new Uint16Array([65535]),
      new Uint32Array([2 ** 32 - 1]),
      new BigUint64Array([2n ** 64n - 1n]),
    ];
    for (const values of cases) {
      const array = FlowerArray.fromTypedArray(values);
      expect(array.stype).toBe("numpy.ndarray");
      expect(array.toTypedArray()).toEqual(values);
    }
  });

  it("writes the NPY header numpy writes, data on a 64-byte boundary", () => {
    const array = FlowerArray.fromTypedArray(new Float32Array(6), [2, 3]);
    const header = new TextDecoder().decode(array.data.subarray(10, 128));
    expect(header).toBe(
      `${"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117)}\n`,
    );
    expect(array.data.length).toBe(128 + 24);
    expect(decodeNpy(array.data).shape).toEqual([2, 3]);
  });

  it("converts to and from tensor-like objects", () => {
    const tensor = { shape: [2], dtype: "float32", dataSync: () => new Float32Array([1, 2]) };
    const array = FlowerArray.fromTensor(tensor);
    const tf = {
      tensor: (values: unknown, shape: number[], dtype?: string) => ({ values, shape, dtype }),
    };
    expect(array.toTensor(tf)).toEqual({
      values: new Float32Array([1, 2]),
      shape: [2],
      dtype: "float32",
    });
  });

  it("refuses a shape that does not fit and bad NPY bytes", () => {
    expect(() => FlowerArray.fromTypedArray(new Float32Array(3), [2, 2])).toThrow(
      /shape \[2, 2\] does not fit 3 values/,
    );
    const bad = new FlowerArray({
      dtype: "float32",
      shape: [1],
      stype: "numpy.ndarray",
      data: new Uint8Array([1, 2, 3]),
    });
    expect(() => bad.toTypedArray()).toThrow(/invalid NPY data/);
  });
});

describe("MetricRecord", () => {
  it("holds numbers and homogeneous number lists, keeping int vs float", () => {
    const record = new MetricRecord({
      loss: 0.25,
      "num-examples": 120,
      accs: [0.5, 0.75],
      counts: [1, 2],
    });
    expect(record.kindOf("loss")).toBe("double");
    expect(record.kindOf("num-examples")).toBe("sint64");
    expect(record.kindOf("accs")).toBe("doubleList");
    expect(record.kindOf("counts")).toBe("sintList");
    expect(decodeMetricRecord(encodeMetricRecord(record))).toEqual(record);
  });

  it("refuses booleans, strings and mixed lists with a typed error", () => {
    expect(() => new MetricRecord({ ok: true as never })).toThrow(FedbridgeError);
    expect(() => new MetricRecord({ ok: true as never })).toThrow(
      /'ok' must be a number or a list of numbers; got a bool value/,
    );
    expect(() => new MetricRecord({ name: "x" as never })).toThrow(FedbridgeError);
    expect(() => new MetricRecord({ mixed: [1, "a"] as never })).toThrow(/mixed list/);
    expect(() => new MetricRecord({ flags: [true, false] as never })).toThrow(/boolList/);
  });
});

describe("ConfigRecord", () => {
  it("round-trips every value kind through protobuf", () => {
    const record = new ConfigRecord({
      lr: 0.01,
      epochs: 2,
      big: 2n ** 63n,
      name: "site-1",
      flag: true,
      blob: new Uint8Array([0, 1]),
      ids: [1, 2, 3],
      tags: ["a", "b"],
      flags: [true],
      blobs: [new Uint8Array([9])],
      floats: [0.5],
      bigs: [2n ** 64n - 1n],
    });
    expect(record.kindOf("big")).toBe("uint64");
    expect(record.kindOf("bigs")).toBe("uintList");
    const decoded = decodeConfigRecord(encodeConfigRecord(record));
    expect(decoded).toEqual(record);
    expect([...decoded.keys()]).toEqual([...record.keys()]);
  });

  it("refuses mixed lists and objects", () => {
    expect(() => new ConfigRecord({ x: [1, "a"] as never })).toThrow(/mixed list/);
    expect(() => new ConfigRecord({ x: {} as never })).toThrow(/unsupported type object/);
  });
});

describe("RecordDict", () => {
  it("round-trips mixed records and sorts them by type", () => {
    const dict = new RecordDict({
      arrays: ArrayRecord.fromTypedArrays([{ values: new Float32Array([1, 2]), shape: [2] }]),
      metrics: new MetricRecord({ acc: 0.5 }),
      config: new ConfigRecord({ round: 1 }),
    });
    expect([...dict.arrayRecords.keys()]).toEqual(["arrays"]);
    expect([...dict.metricRecords.keys()]).toEqual(["metrics"]);
    expect([...dict.configRecords.keys()]).toEqual(["config"]);
    const decoded = decodeRecordDict(encodeRecordDict(dict));
    expect(decoded.arrayRecords.get("arrays")?.toTypedArrays()).toEqual([new Float32Array([1, 2])]);
    expect(encodeRecordDict(decoded)).toEqual(encodeRecordDict(dict));
  });

  it("refuses values that are not records and reports bad bytes clearly", () => {
    expect(() => new RecordDict({ x: new Map() as never })).toThrow(
      /must be an ArrayRecord, MetricRecord or ConfigRecord/,
    );
    expect(() => decodeArrayRecord(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(
      /invalid ArrayRecord bytes/,
    );
  });
});
