import { describe, expect, it } from "vitest";
import { collectGarbage } from "../../core/collect-garbage.ts";
import { Code } from "../../core/fedbridge-error.ts";
import { npyInSharedMemory } from "../../core/numeric/npy.ts";
import { ClientApp } from "../app/client-app.ts";
import { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import { fakeNode, model } from "./fake-nodes.ts";
import { FedAvg } from "./fedavg.ts";

describe("Strategy.start", () => {
  it.each([0, -1, 2.5, Number.NaN])("refuses numRounds %s before any round", async (numRounds) => {
    const rounds: number[] = [];
    const grid = new InMemoryGrid(undefined, {
      roundStarted: (round) => rounds.push(round),
      roundFinished() {},
      log() {},
    });
    const initialArrays = ArrayRecord.fromTypedArrays([{ values: Float32Array.of(0), shape: [1] }]);
    const started = new FedAvg().start({ grid, initialArrays, numRounds });
    await expect(started).rejects.toThrow(`numRounds must be a positive integer, got ${numRounds}`);
    await expect(started).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(rounds).toEqual([]);
  });

  it("lets a round's replies, and the initial model, go while the next round waits", async () => {
    const sent: WeakRef<Message>[][] = [];
    let heldWhileWaiting: boolean[] = [];
    let initial: WeakRef<ArrayRecord> | undefined;
    let initialHeld: boolean | undefined;
    /** Before sending each train phase's instructions, collects and asks which replies live. */
    class WatchingGrid extends InMemoryGrid {
      override async sendAndReceive(...args: Parameters<InMemoryGrid["sendAndReceive"]>) {
        const [first] = args[0];
        if (first?.metadata.messageType === "train" && sent.length > 0) {
          // WeakRefs keep their targets to the end of the task that made them.
          await new Promise((resolve) => setTimeout(resolve, 0));
          collectGarbage();
          heldWhileWaiting = sent.flat().map((reply) => reply.deref() !== undefined);
          initialHeld = initial?.deref() !== undefined;
        }
        const replies = await super.sendAndReceive(...args);
        sent.push(replies.map((reply) => new WeakRef(reply)));
        return replies;
      }
    }
    const grid = new WatchingGrid();
    for (const values of [[1], [3]]) grid.addNode(fakeNode({ arrays: values }));
    const fedAvg = new FedAvg({ fractionEvaluate: 0 });
    // Started from a plain function, as an app's main returns start's promise: this async test
    // would otherwise hold the options it passed while it awaits.
    const started = (() => {
      const initialArrays = model(0);
      initial = new WeakRef(initialArrays);
      return fedAvg.start({ grid, initialArrays, numRounds: 2 });
    })();
    await started;
    expect(sent.flat()).toHaveLength(2 * 2);
    expect(heldWhileWaiting).toEqual([false, false]);
    expect(initialHeld).toBe(false);
  });

  it("has a round's model-sized replies collected before the next round's come, unasked", async () => {
    // Two replies of 40 MB, past the size that starts a collection, in shared memory, as a
    // SuperLink's received replies are: V8 does not count it, so allocating it starts none.
    const floats = 10_000_000;
    npyInSharedMemory({ ownPages: false });
    const node = new ClientApp().train((msg) => {
      const values = new Float32Array(new SharedArrayBuffer(floats * 4)).fill(1);
      const arrays = ArrayRecord.fromTypedArrays([{ values, shape: [floats] }]);
      const metrics = new MetricRecord({ "num-examples": 1 });
      return new Message(new RecordDict({ arrays, metrics }), { replyTo: msg });
    });
    const replied: WeakRef<Message>[] = [];
    let goneBeforeNext = false;
    class WatchingGrid extends InMemoryGrid {
      override async sendAndReceive(...args: Parameters<InMemoryGrid["sendAndReceive"]>) {
        if (replied.length > 0) {
          // Nothing here allocates: only a collection started by the rounds frees them.
          await expect
            // Within V8's own memory reducer's first delay (8 s), which would free them too.
            .poll(() => replied.every((reply) => reply.deref() === undefined), { timeout: 6_000 })
            .toBe(true);
          goneBeforeNext = true;
        }
        const replies = await super.sendAndReceive(...args);
        replied.push(...replies.map((reply) => new WeakRef(reply)));
        // Into the old generation, as replies that took a while to arrive are: only a full
        // collection frees them there.
        collectGarbage();
        return replies;
      }
    }
    const grid = new WatchingGrid();
    grid.addNode(node);
    grid.addNode(node);
    await new FedAvg({ fractionEvaluate: 0 }).start({
      grid,
      initialArrays: model(0),
      numRounds: 2,
    });
    expect(goneBeforeNext).toBe(true);
  });
});
