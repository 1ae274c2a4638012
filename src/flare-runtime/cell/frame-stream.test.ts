import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";
import { encodeFrame } from "./frame-codec.ts";
import { readFrames } from "./frame-stream.ts";
import { frames } from "./frames.ts";

const chunk = (seq: number) =>
  frames.chunk({ id: 1, reply: false, seq, data: new Uint8Array(5000).fill(seq), last: false });

/** A frame's bytes as HTTP/2 over TLS hands them over: in pieces of a few KB. */
function* pieces(frame: CellFrame, size = 3000): Generator<Uint8Array> {
  const wire = Buffer.concat(encodeFrame(frame));
  for (let at = 0; at < wire.byteLength; at += size) yield wire.subarray(at, at + size);
}

const seqOf = (frame: CellFrame) =>
  frame.kind.case === "chunk" ? Number(frame.kind.value.seq) : -1;

describe("readFrames", () => {
  it("gives a stream's frames in order, pausing it while 4 wait for their consumer", async () => {
    const stream = new PassThrough();
    for (let seq = 0; seq < 10; seq++) for (const piece of pieces(chunk(seq))) stream.write(piece);
    stream.end();
    const seen: number[] = [];
    const read = readFrames(stream, 2 ** 20);
    let first = await read.next();
    // The consumer took one frame and waits: the reader stopped the stream four frames on.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.isPaused()).toBe(true);
    for (; !first.done; first = await read.next()) seen.push(seqOf(first.value));
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("gives the frames before a malformed one, then its error, and destroys the stream", async () => {
    const stream = new PassThrough();
    for (const piece of pieces(chunk(0))) stream.write(piece);
    stream.write(new Uint8Array([1, 0, 0, 0, 4, 9, 9, 9, 9])); // compressed: refused
    const seen: number[] = [];
    const reading = (async () => {
      for await (const frame of readFrames(stream, 2 ** 20)) seen.push(seqOf(frame));
    })();
    await expect(reading).rejects.toThrow("compressed frames are not accepted");
    expect(seen).toEqual([0]);
    expect(stream.destroyed).toBe(true);
  });

  it("says a frame was cut off by the stream's end, with the code it is given", async () => {
    const stream = new PassThrough();
    stream.end([...pieces(chunk(0))][0]);
    const reading = (async () => {
      for await (const _ of readFrames(stream, 2 ** 20, Code.InvalidArgument));
    })();
    await expect(reading).rejects.toThrow(
      new FedbridgeError(Code.InvalidArgument, "the stream ended inside a frame"),
    );
  });

  it("throws a stream's error, and its close before its end", async () => {
    const failing = new PassThrough();
    const failed = (async () => {
      for await (const _ of readFrames(failing, 2 ** 20));
    })();
    failing.destroy(new Error("stream reset by the peer"));
    await expect(failed).rejects.toThrow("stream reset by the peer");

    const closing = new PassThrough();
    const closed = (async () => {
      for await (const _ of readFrames(closing, 2 ** 20));
    })();
    closing.destroy();
    await expect(closed).rejects.toThrow("Premature close");
  });

  it("destroys the stream when its consumer stops early", async () => {
    const stream = new PassThrough();
    for (let seq = 0; seq < 3; seq++) for (const piece of pieces(chunk(seq))) stream.write(piece);
    for await (const frame of readFrames(stream, 2 ** 20)) if (seqOf(frame) === 1) break;
    expect(stream.destroyed).toBe(true);
  });
});
