import { setImmediate as nextTask } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { collectAfter, collectGarbage } from "./collect-garbage.ts";

/** A WeakRef to a buffer nothing else holds, made in a task that has ended by the time it resolves. */
async function droppedBuffer(): Promise<WeakRef<ArrayBuffer>> {
  const ref = new WeakRef(new ArrayBuffer(2 ** 20));
  await nextTask();
  return ref;
}

describe("collectGarbage", () => {
  it("frees what nothing holds, now", async () => {
    const ref = await droppedBuffer();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });

  it("collects after a large release, once the task has ended", async () => {
    const ref = await droppedBuffer();
    collectAfter(2 ** 30);
    await nextTask();
    expect(ref.deref()).toBeUndefined();
  });
});
