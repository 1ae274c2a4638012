import { constants, PerformanceObserver } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { newBuffer, newBytes, UNCOUNTED_MIN_BYTES } from "./uncounted-bytes.ts";

const MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;

/** Full collections V8 runs while 512 MiB of `make`'s 4 MiB buffers are made and held. */
async function fullCollectionsWhileHolding(make: (length: number) => Uint8Array): Promise<number> {
  let full = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === MAJOR) full++;
  });
  observer.observe({ entryTypes: ["gc"] });
  const held: Uint8Array[] = [];
  for (let i = 0; i < 128; i++) held.push(make(4 * 2 ** 20));
  await new Promise((resolve) => setTimeout(resolve, 100)); // entries arrive after the fact
  observer.disconnect();
  expect(held).toHaveLength(128);
  return full;
}

describe("uncounted bytes", () => {
  it("are shared memory from UNCOUNTED_MIN_BYTES on, plain memory below", () => {
    expect(newBytes(UNCOUNTED_MIN_BYTES).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(newBuffer(UNCOUNTED_MIN_BYTES).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.isBuffer(newBuffer(UNCOUNTED_MIN_BYTES))).toBe(true);
    expect(newBytes(UNCOUNTED_MIN_BYTES - 1).buffer).toBeInstanceOf(ArrayBuffer);
    expect(newBuffer(UNCOUNTED_MIN_BYTES - 1).buffer).toBeInstanceOf(ArrayBuffer);
    expect(newBytes(UNCOUNTED_MIN_BYTES).every((byte) => byte === 0)).toBe(true);
  });

  it("start no full collection, where as many plain bytes start several", async () => {
    const plain = await fullCollectionsWhileHolding((length) => Buffer.allocUnsafeSlow(length));
    const uncounted = await fullCollectionsWhileHolding(newBuffer);
    expect(plain).toBeGreaterThanOrEqual(2);
    expect(uncounted).toBeLessThanOrEqual(1); // one started by something else, at most
  });
});
