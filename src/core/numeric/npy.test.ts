import { describe, expect, it } from "vitest";
import { decodeNpy, encodeNpy } from "./npy.ts";

describe("decodeNpy", () => {
  it("reads values at any byte offset, also from a Node Buffer (whose slice is a view)", () => {
    const npy = encodeNpy("float32", [3], Float32Array.of(1.5, -2, 3.25));
    for (const offset of [0, 1, 2, 3, 6]) {
      // A Buffer over a larger pool, the array starting `offset` bytes in: as IPC hands them.
      const pool = Buffer.alloc(npy.byteLength + 16, 0x7f);
      pool.set(npy, offset);
      const decoded = decodeNpy(pool.subarray(offset, offset + npy.byteLength));
      expect([...(decoded.values as Float32Array)]).toEqual([1.5, -2, 3.25]);
    }
  });
});
