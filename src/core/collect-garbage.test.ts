import { constants, PerformanceObserver } from "node:perf_hooks";
import { setImmediate as nextTask } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { collectAfter, collectGarbage } from "./collect-garbage.ts";

/** A WeakRef to a buffer nothing else holds, made in a task that has ended by the time it resolves. */
async function droppedBuffer(): Promise<WeakRef<ArrayBuffer>> {
  const ref = new WeakRef(new ArrayBuffer(2 ** 20));
  await nextTask();
  return ref;
}

/** Resolves once V8 has finished a full collection of this thread's heap. */
function nextFullCollection(): Promise<void> {
  return new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      const entries = list.getEntries() as { detail?: { kind?: number } }[];
      if (entries.some((entry) => entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe({ entryTypes: ["gc"] });
  });
}

describe("collectGarbage", () => {
  it("frees what nothing holds, now", async () => {
    const ref = await droppedBuffer();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });

  it("starts a collection after a large release, which frees it while the thread waits", async () => {
    const ref = await droppedBuffer();
    const collected = nextFullCollection();
    collectAfter(2 ** 30);
    await collected;
    expect(ref.deref()).toBeUndefined();
  });
});
