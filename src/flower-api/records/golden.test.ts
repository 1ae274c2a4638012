import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage } from "../message/message-serde.ts";
import { FlowerArray } from "./array.ts";
import {
  decodeArrayRecord,
  decodeConfigRecord,
  decodeMetricRecord,
  decodeRecordDict,
  encodeArrayRecord,
  encodeConfigRecord,
  encodeMetricRecord,
  encodeRecordDict,
} from "./serde.ts";

// Files written by Flower 1.28 itself (see ../shared/fixtures/flower-1.28/MANIFEST.json).
const fixture = (name: string) =>
  new Uint8Array(
    readFileSync(new URL(`../../../../shared/fixtures/flower-1.28/${name}`, import.meta.url)),
  );

describe("golden files from Flower 1.28", () => {
  it("arrayrecord.pb: w, b, i decode to their values and encode back byte for byte", () => {
    const bytes = fixture("arrayrecord.pb");
    const record = decodeArrayRecord(bytes);
    expect([...record.keys()]).toEqual(["w", "b", "i"]);
    expect(record.get("w")?.toTypedArray()).toEqual(new Float32Array([3]));
    expect(record.get("b")?.shape).toEqual([2, 3]);
    expect(record.get("b")?.toTypedArray()).toEqual(new Float32Array([0, 1, 2, 3, 4, 5]));
    expect(record.get("i")?.dtype).toBe("int64");
    expect(record.get("i")?.toTypedArray()).toEqual(new BigInt64Array([1n, -2n, 3n]));
    expect(encodeArrayRecord(record)).toEqual(bytes);
    // Our NPY writer produces numpy.save's bytes exactly.
    expect(FlowerArray.fromTypedArray(new Float32Array([3]), [1]).data).toEqual(
      record.get("w")?.data,
    );
    expect(FlowerArray.fromTypedArray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3]).data).toEqual(
      record.get("b")?.data,
    );
    expect(FlowerArray.fromTypedArray(new BigInt64Array([1n, -2n, 3n])).data).toEqual(
      record.get("i")?.data,
    );
  });

  it("metricrecord.pb: ints, floats and lists keep their kinds", () => {
    const bytes = fixture("metricrecord.pb");
    const record = decodeMetricRecord(bytes);
    expect(record.toObject()).toEqual({
      loss: 0.25,
      "num-examples": 120,
      "acc-list": [0.5, 0.75],
      counts: [1, 2, 3],
    });
    expect(record.kindOf("num-examples")).toBe("sint64");
    expect(encodeMetricRecord(record)).toEqual(bytes);
  });

  it("configrecord.pb: every value type", () => {
    const bytes = fixture("configrecord.pb");
    const record = decodeConfigRecord(bytes);
    expect(record.toObject()).toEqual({
      lr: 0.01,
      epochs: 2,
      name: "site-1",
      flag: true,
      blob: new Uint8Array([0, 1]),
      ids: [1, 2, 3],
      tags: ["a", "b"],
    });
    expect(encodeConfigRecord(record)).toEqual(bytes);
  });

  it("recorddict.pb: the three records", () => {
    const bytes = fixture("recorddict.pb");
    const dict = decodeRecordDict(bytes);
    expect([...dict.keys()]).toEqual(["arrays", "metrics", "config"]);
    expect(encodeRecordDict(dict)).toEqual(bytes);
  });

  it("message.pb: metadata and content", () => {
    const bytes = fixture("message.pb");
    const message = decodeMessage(bytes);
    expect(message.metadata).toEqual({
      runId: 7n,
      messageId: "",
      srcNodeId: 1n,
      dstNodeId: 1234n,
      replyToMessageId: "",
      groupId: "round-1",
      createdAt: 1700000000.5,
      ttl: 43200,
      messageType: "train",
    });
    expect(encodeRecordDict(message.content)).toEqual(fixture("recorddict.pb"));
    expect(encodeMessage(message)).toEqual(bytes);
  });
});
