import { describe, expect, it } from "vitest";
import { joinPieces } from "../shareable/shareable-codec.ts";
import { decodeTaskFrame, encodeTaskHeader, type TaskHeader } from "./task-frame.ts";

const frame = (header: object, body = [1, 2, 3]) =>
  joinPieces([encodeTaskHeader(header as TaskHeader), new Uint8Array(body)]);

describe("task frames", () => {
  it("carry the job, the topic, an idempotency key and the bytes, 8-aligned", () => {
    const key = "a".repeat(64);
    const bytes = frame({ jobId: "j", topic: "t", key });
    const decoded = decodeTaskFrame(bytes);
    expect(decoded).toMatchObject({ jobId: "j", topic: "t", key });
    expect([...decoded.body]).toEqual([1, 2, 3]);
    expect(decoded.body.byteOffset % 8).toBe(0);
    expect(decodeTaskFrame(frame({ jobId: "j", topic: "t" })).key).toBeUndefined();
  });

  it("carry the site's own meta entries, and refuse meta that is not a JSON object", () => {
    const meta = { message: { dstNodeId: "7", messageType: "train" } };
    expect(decodeTaskFrame(frame({ jobId: "j", topic: "t", meta })).meta).toEqual(meta);
    expect(decodeTaskFrame(frame({ jobId: "j", topic: "t" })).meta).toBeUndefined();
    for (const bad of [[1, 2], "x", null])
      expect(() => decodeTaskFrame(frame({ jobId: "j", topic: "t", meta: bad }))).toThrow(
        "malformed task frame: its meta must be a JSON object",
      );
  });

  it.each([["../../etc/passwd"], [""], ["x".repeat(129)], [7]])(
    "refuse a key that is not a plain name (%s): it names a file at the site",
    (key) => {
      expect(() => decodeTaskFrame(frame({ jobId: "j", topic: "t", key }))).toThrow(
        "malformed task frame: its key must be 1 to 128 letters, digits",
      );
    },
  );
});
