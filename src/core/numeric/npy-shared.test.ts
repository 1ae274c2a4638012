import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { OWN_PAGES_MIN_BYTES } from "./npy.ts";

interface Made {
  shared: boolean;
  growable: boolean;
  maxByteLength: number;
  byteLength: number;
  first: number;
}

/** What encodeNpy makes in a thread that called npyInSharedMemory, for arrays of `floats`. */
async function madeInSharedMemory(floats: readonly number[], ownPages: boolean): Promise<Made[]> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    import(workerData.register)
      .then(() => import(workerData.npy))
      .then(({ encodeNpy, npyInSharedMemory }) => {
        npyInSharedMemory({ ownPages: workerData.ownPages });
        parentPort.postMessage(workerData.floats.map((n) => {
          const bytes = encodeNpy("float32", [n], new Float32Array(n).fill(2.5));
          const buffer = bytes.buffer;
          return {
            shared: buffer instanceof SharedArrayBuffer,
            growable: buffer.growable,
            maxByteLength: buffer.maxByteLength,
            byteLength: buffer.byteLength,
            first: new Float32Array(buffer, 128, 1)[0],
          };
        }));
      });`;
  const worker = new Worker(code, {
    eval: true,
    workerData: {
      floats,
      ownPages,
      register: new URL("../../../bin/register.mjs", import.meta.url).href,
      npy: new URL("./npy.ts", import.meta.url).href,
    },
  });
  try {
    return await new Promise<Made[]>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe("npyInSharedMemory", () => {
  it("with ownPages, puts large arrays in shared pages of their own, small ones in plain shared memory", async () => {
    const large = OWN_PAGES_MIN_BYTES / 4;
    const [big, small] = await madeInSharedMemory([large, 100], true);
    // Growable to no more than its size: mapped on its own, unmapped once freed.
    expect(big).toEqual({
      shared: true,
      growable: true,
      maxByteLength: big?.byteLength,
      byteLength: big?.byteLength,
      first: 2.5,
    });
    expect(big?.byteLength).toBeGreaterThanOrEqual(large * 4);
    expect(small?.shared).toBe(true);
    expect(small?.growable).toBe(false);
  });

  it("without, puts every array in plain shared memory (from malloc, tuned to reuse it)", async () => {
    const [big, small] = await madeInSharedMemory([OWN_PAGES_MIN_BYTES / 4, 100], false);
    expect(big).toMatchObject({ shared: true, growable: false, first: 2.5 });
    expect(small).toMatchObject({ shared: true, growable: false });
  });
});
