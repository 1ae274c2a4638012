import { describe, expect, it } from "vitest";
import { partsBuffers } from "../clientapp-worker/protocol.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { MessageError } from "./error.ts";
import { Message } from "./message.ts";
import { encodeMessage, messageFromParts, messageToParts } from "./message-serde.ts";

const meta = { dstNodeId: 7n, messageType: "train", ttl: 60 } as const;

function withArrays(): Message {
  // One array is a view at an odd offset into a larger buffer, as arrays read from a file are.
  const inner = FlowerArray.fromTypedArray(new Float32Array(1000).map((_, i) => i / 7));
  const big = new Uint8Array(1 + inner.data.byteLength + 3);
  big.set(inner.data, 1);
  const view = new FlowerArray({ ...inner, data: big.subarray(1, 1 + inner.data.byteLength) });
  return new Message(
    new RecordDict({
      model: new ArrayRecord({ a: view, b: FlowerArray.fromTypedArray(new Int32Array([1, -2])) }),
      config: new ConfigRecord({ lr: 0.1, name: "x", blob: new Uint8Array([1, 2, 3]) }),
      extra: new ArrayRecord({ c: FlowerArray.fromTypedArray(new Float64Array([Math.PI])) }),
      metrics: new MetricRecord({ n: 3 }),
    }),
    meta,
  );
}

describe("a message in parts (to another thread)", () => {
  it("holds the arrays' bytes apart, each in a buffer of its own, and comes back the same", () => {
    const message = withArrays();
    const parts = messageToParts(message);
    expect(parts.arrays.map((a) => a.byteLength)).toEqual([4128, 136, 136]);
    for (const array of parts.arrays) expect(array.buffer.byteLength).toBe(array.byteLength);
    // The header is small: no array's bytes are in it.
    expect(parts.header.byteLength).toBeLessThan(400);
    expect(encodeMessage(messageFromParts(parts))).toEqual(encodeMessage(message));
  });

  it("leaves the message's own arrays whole", () => {
    const message = withArrays();
    const before = encodeMessage(message);
    messageToParts(message);
    expect(encodeMessage(message)).toEqual(before);
  });

  it("carries an error reply, which has no arrays", () => {
    const reply = new Message(new MessageError(3, "boom"), { replyTo: withArrays() });
    const parts = messageToParts(reply);
    expect(parts.arrays).toEqual([]);
    const back = messageFromParts(parts);
    expect(back.error.reason).toBe("boom");
  });

  it("refuses parts whose arrays do not match the header", () => {
    const parts = messageToParts(withArrays());
    expect(() => messageFromParts({ ...parts, arrays: parts.arrays.slice(1) })).toThrow(
      /3 arrays came with 2/,
    );
  });

  it("moves a large array given up uncopied, its whole buffer with it, and copies small ones", () => {
    const large = FlowerArray.fromTypedArray(new Float32Array(50_000).map((_, i) => i));
    const file = new Uint8Array(7 + large.data.byteLength); // an object: a header, then the array
    file.set(large.data, 7);
    const view = new FlowerArray({ ...large, data: file.subarray(7) });
    const small = FlowerArray.fromTypedArray(new Int32Array([1, -2]));
    const message = new Message(new RecordDict({ model: new ArrayRecord({ view, small }) }), meta);
    const expected = encodeMessage(message);
    const parts = messageToParts(message, true);
    expect(parts.arrays[0]).toBe(view.data);
    expect(parts.arrays[1]?.buffer).not.toBe(small.data.buffer);
    const transfer = partsBuffers(parts);
    expect(transfer).toContain(file.buffer);
    expect(transfer).not.toContain(small.data.buffer);
    const moved = structuredClone(parts, { transfer });
    expect(view.data.byteLength).toBe(0); // the sender's view is detached
    expect(encodeMessage(messageFromParts(moved))).toEqual(expected);
  });

  it("shares an array in shared memory instead of copying it", () => {
    const shared = new Uint8Array(new SharedArrayBuffer(16)).fill(3);
    const array = new FlowerArray({
      dtype: "uint8",
      shape: [16],
      stype: "numpy.ndarray",
      data: shared,
    });
    const message = new Message(new RecordDict({ model: new ArrayRecord({ array }) }), meta);
    const parts = messageToParts(message);
    expect(parts.arrays[0]).toBe(shared);
    expect(partsBuffers(parts)).not.toContain(shared.buffer);
  });
});
