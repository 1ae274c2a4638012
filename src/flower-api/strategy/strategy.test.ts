import { describe, expect, it } from "vitest";
import { collectGarbage } from "../../core/collect-garbage.ts";
import { Code } from "../../core/fedbridge-error.ts";
import type { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
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
});
