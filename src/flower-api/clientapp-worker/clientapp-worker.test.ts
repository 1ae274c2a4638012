import { setImmediate as nextTask } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { collectGarbage } from "../../core/collect-garbage.ts";
import { createContext } from "../app/context.ts";
import { ErrorCode } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { ClientAppWorker } from "./clientapp-worker.ts";

const SLEEPY = new URL("./testing/sleepy-clientapp.ts", import.meta.url).href;

function train(config: Record<string, boolean> = {}, ttl = 3600): Message {
  const content = new RecordDict({ config: new ConfigRecord(config) });
  return new Message(content, { dstNodeId: 7n, messageType: "train", ttl });
}

describe("ClientAppWorker", () => {
  const workers: ClientAppWorker[] = [];
  const start = (clientappUrl = SLEEPY) => {
    const worker = new ClientAppWorker({ clientappUrl });
    workers.push(worker);
    return worker;
  };
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
  });

  it("keeps the node's state across messages, in the caller's Context", async () => {
    const worker = start();
    const context = createContext({ runId: 1n, nodeId: 7n });
    for (const expected of [1, 2, 3]) {
      const reply = await worker.handle(train(), context);
      expect(reply.content.metricRecords.get("metrics")?.get("calls")).toBe(expected);
    }
    expect(context.state.configRecords.get("counter")?.get("calls")).toBe(3);
  });

  it("holds no reply once the caller let go of it (a model must not wait for the next message)", async () => {
    const worker = start();
    const context = createContext({ runId: 1n, nodeId: 7n });
    const ref = new WeakRef(await worker.handle(train(), context));
    await nextTask();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });

  it("stops a handler that spins past the message's TTL, replies with an error and serves the next message", async () => {
    const worker = start();
    const context = createContext({ runId: 1n, nodeId: 7n });
    await worker.handle(train(), context);
    const stuck = await worker.handle(train({ spin: true }, 2), context);
    expect(stuck.hasError()).toBe(true);
    expect(stuck.error.code).toBe(ErrorCode.CLIENT_APP_CRASHED);
    expect(stuck.error.reason).toMatch(/did not reply within the message's TTL \(2 s\)/);
    // The spinning call's state change was lost with its thread; the earlier one was kept.
    const next = await worker.handle(train(), context);
    expect(next.content.metricRecords.get("metrics")?.get("calls")).toBe(2);
  });

  it("stops a handler that never settles when its run is stopped", async () => {
    const worker = start();
    const context = createContext({ runId: 1n, nodeId: 7n });
    const stop = new AbortController();
    const hanging = worker.handle(train({ hang: true }), context, stop.signal);
    await worker.start();
    setTimeout(() => stop.abort(), 200);
    const reply = await hanging;
    expect(reply.error.reason).toMatch(/run was stopped/);
    expect((await worker.handle(train(), context)).hasContent()).toBe(true);
  });

  it("answers every message with LOAD_CLIENT_APP_EXCEPTION when the app cannot load", async () => {
    const worker = start(new URL("./protocol.ts", import.meta.url).href);
    await expect(worker.start()).rejects.toThrow(/no export named `app`/);
    const context = createContext({ runId: 1n, nodeId: 7n });
    for (let i = 0; i < 2; i++) {
      const reply = await worker.handle(train(), context);
      expect(reply.error.code).toBe(ErrorCode.LOAD_CLIENT_APP_EXCEPTION);
      expect(reply.error.reason).toMatch(/no export named `app`/);
    }
  });

  it("moves an instruction's large arrays to the thread when told to, and gets replies' arrays in shared memory", async () => {
    const worker = new ClientAppWorker({ clientappUrl: SLEEPY, moveInstructionArrays: true });
    workers.push(worker);
    const context = createContext({ runId: 1n, nodeId: 7n });
    const instruction = train({ array: true });
    const model = FlowerArray.fromTypedArray(new Float32Array(100_000));
    instruction.content.set("model", new ArrayRecord({ model }));
    const reply = await worker.handle(instruction, context);
    expect(model.data.byteLength).toBe(0); // moved: this side's view is detached
    const array = reply.content.arrayRecords.get("arrays")?.values().next().value as FlowerArray;
    expect(array.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...(array.toTypedArray() as Float32Array)]).toEqual([1, 2]);
  });
});
