import { equals, fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { type CellFrame, CellFrameSchema } from "../../gen/fedbridge/v1/cell_pb.ts";
import { encodeFrame, FrameReader } from "./frame-codec.ts";
import { frames } from "./frames.ts";

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

const sample: CellFrame[] = [
  frames.hello({ site: "site-1", instance: "i-1", window: 16 }),
  frames.heartbeat(),
  frames.request({
    id: 7,
    topic: "task",
    payload: bytes(100, 1),
    timeoutMs: 5000,
    settledBelow: 3,
  }),
  frames.chunk({ id: 7, reply: true, seq: 2 ** 40, data: bytes(2 ** 20, 2), last: false }),
  frames.chunk({
    id: 9,
    reply: false,
    seq: 0,
    data: bytes(5000, 3),
    last: true,
    error: new FedbridgeError(Code.Aborted, "gone"),
  }),
  frames.chunk({ id: 9, reply: false, seq: 1, data: bytes(10, 4), last: true }),
  frames.credit(7, true, 12),
];

const joined = (pieces: Uint8Array[]) => Buffer.concat(pieces);

describe("cell frames on the wire", () => {
  it("encodes every frame as gRPC's prefix and the CellFrame protobuf decodes to", () => {
    for (const frame of sample) {
      const wire = joined(encodeFrame(frame));
      expect(wire[0]).toBe(0);
      expect(wire.readUInt32BE(1)).toBe(wire.byteLength - 5);
      expect(equals(CellFrameSchema, fromBinary(CellFrameSchema, wire.subarray(5)), frame)).toBe(
        true,
      );
    }
  });

  it("sends a large chunk's data as its own piece, not a copy", () => {
    const data = bytes(2 ** 20, 5);
    const pieces = encodeFrame(frames.chunk({ id: 1, reply: false, seq: 0, data, last: true }));
    expect(pieces).toHaveLength(2);
    expect(pieces[1]).toBe(data);
  });

  it("reads frames back whatever the pieces the stream cuts them into", () => {
    const wire = joined(sample.flatMap(encodeFrame));
    for (const size of [1, 3, 5, 4096, 65_536, wire.byteLength]) {
      const reader = new FrameReader(8 * 2 ** 20);
      const read: CellFrame[] = [];
      for (let at = 0; at < wire.byteLength; at += size)
        read.push(...reader.push(wire.subarray(at, at + size)));
      expect(reader.atBoundary).toBe(true);
      expect(read).toHaveLength(sample.length);
      read.forEach((frame, i) => {
        expect(equals(CellFrameSchema, frame, sample[i] as CellFrame)).toBe(true);
      });
    }
  });

  it("knows when a stream stops inside a frame", () => {
    const wire = joined(encodeFrame(sample[0] as CellFrame));
    const reader = new FrameReader(1024);
    expect([...reader.push(wire.subarray(0, 3))]).toEqual([]);
    expect(reader.atBoundary).toBe(false);
    expect([...reader.push(wire.subarray(3, wire.byteLength - 1))]).toEqual([]);
    expect(reader.atBoundary).toBe(false);
  });

  it("refuses compressed frames, frames over the limit and bytes that are not a CellFrame", () => {
    const read = (wire: Uint8Array, max = 1024) => [...new FrameReader(max).push(wire)];
    const compressed = joined(encodeFrame(sample[1] as CellFrame));
    compressed[0] = 1;
    expect(() => read(compressed)).toThrow(/compressed frames are not accepted/);
    expect(() => read(joined(encodeFrame(sample[3] as CellFrame)))).toThrow(
      expect.objectContaining({ code: Code.ResourceExhausted }),
    );
    const garbage = Buffer.from([0, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    expect(() => read(garbage)).toThrow(
      expect.objectContaining({
        code: Code.InvalidArgument,
        message: expect.stringMatching(/^parse binary: /),
      }),
    );
  });
});
