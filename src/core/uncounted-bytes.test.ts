import { constants, PerformanceObserver } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { COLLECT_EVERY_BYTES, newBuffer, UNCOUNTED_MIN_BYTES } from "./uncounted-bytes.ts";

const MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;
const MiB = 2 ** 20;

/** Full collections V8 runs while `work` runs, and shortly after. */
async function fullCollectionsDuring(work: () => void): Promise<number> {
  let full = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === MAJOR) full++;
  });
  observer.observe({ entryTypes: ["gc"] });
  work();
  await new Promise((resolve) => setTimeout(resolve, 100)); // entries arrive after the fact
  observer.disconnect();
  return full;
}

/** Makes and holds `bytes` of `make`'s 4 MiB buffers. */
const holding = (bytes: number, make: (length: number) => Uint8Array) => () => {
  const held = Array.from({ length: bytes / (4 * MiB) }, () => make(4 * MiB));
  expect(held.length * 4 * MiB).toBe(bytes);
};

describe("uncounted bytes", () => {
  it("are shared memory from UNCOUNTED_MIN_BYTES on, plain memory below", () => {
    const large = newBuffer(UNCOUNTED_MIN_BYTES);
    expect(large.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.isBuffer(large)).toBe(true);
    expect(large.every((byte) => byte === 0)).toBe(true);
    expect(newBuffer(UNCOUNTED_MIN_BYTES - 1).buffer).toBeInstanceOf(ArrayBuffer);
  });

  it("start no full collection, where plain bytes start several", async () => {
    // Held, as a model's bytes are while used. The uncounted half of COLLECT_EVERY_BYTES.
    const plain = await fullCollectionsDuring(holding(512 * MiB, Buffer.allocUnsafeSlow));
    const uncounted = await fullCollectionsDuring(holding(COLLECT_EVERY_BYTES / 2, newBuffer));
    expect(plain).toBeGreaterThanOrEqual(2);
    expect(uncounted).toBeLessThanOrEqual(1); // one started by something else, at most
  });

  it("ask for a collection once COLLECT_EVERY_BYTES of them were made", async () => {
    const made = COLLECT_EVERY_BYTES + 64 * MiB;
    const full = await fullCollectionsDuring(() => {
      for (let bytes = 0; bytes < made; bytes += 4 * MiB) newBuffer(4 * MiB);
    });
    expect(full).toBeGreaterThanOrEqual(1);
  });
});
