import { describe, expect, it } from "vitest";
import { copyBytes } from "./copy-bytes.ts";
import { newBuffer } from "./uncounted-bytes.ts";

const MiB = 2 ** 20;

describe("copyBytes", () => {
  it("copies as set does, at any alignment, into shared or plain memory", () => {
    const source = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 31) % 251);
    for (const target of [newBuffer(2 * MiB), new Uint8Array(2 * MiB)]) {
      const expected = new Uint8Array(target.byteLength);
      for (const [from, to, at] of [
        [0, 70_001, 0],
        [3, 65_540, 1_000_005],
        [1, 2, 7],
      ] as const) {
        copyBytes(target, source.subarray(from, to), at);
        expected.set(source.subarray(from, to), at);
      }
      copyBytes(target, new Uint8Array(0), 5); // nothing to copy
      expect(Buffer.from(target).equals(expected)).toBe(true);
    }
  });

  it("refuses bytes that do not fit", () => {
    expect(() => copyBytes(new Uint8Array(8), new Uint8Array(4), 5)).toThrow(RangeError);
  });
});
