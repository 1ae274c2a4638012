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

  it.each([["../../etc/passwd"], [""], ["x".repeat(129)], [7]])(
    "refuse a key that is not a plain name (%s): it names a file at the site",
    (key) => {
      expect(() => decodeTaskFrame(frame({ jobId: "j", topic: "t", key }))).toThrow(
        "malformed task frame: its key must be 1 to 128 letters, digits",
      );
    },
  );
});
