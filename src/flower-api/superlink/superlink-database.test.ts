import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Message } from "../message/message.ts";
import { computeMessageId } from "../objects/deflate.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { NodeRegistry } from "./node-registry.ts";
import { RunRegistry } from "./run-registry.ts";
import { SuperLinkDatabase } from "./superlink-database.ts";

// What a SuperLink keeps in its --database comes back, whole, in the next process's.

const databaseFile = async () =>
  join(await mkdtemp(join(tmpdir(), "fedbridge-superlink-db-")), "superlink.db");

describe("SuperLinkDatabase", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("gives nodes back with their keys; an activated one is online for one patience, then must reconnect", async () => {
    const path = await databaseFile();
    const first = new SuperLinkDatabase(path);
    const before = new NodeRegistry({ store: first });
    const active = before.register("key-a");
    before.activate("key-a", 5);
    const gone = before.register("key-b");
    before.unregister(gone);
    before.close();
    first.close();

    const after = new NodeRegistry();
    after.restore(new SuperLinkDatabase(path).nodes());
    expect(after.nodeIdForKey("key-a")).toBe(active);
    expect(after.nodeIdForKey("key-b")).toBeUndefined();
    expect(after.onlineNodeIds()).toEqual([active]);
    // It comes back with its key: activating again is allowed once.
    expect(after.activate("key-a", 5)).toBe(active);
    expect(() => after.activate("key-a", 5)).toThrow(/could not be activated/);
    vi.advanceTimersByTime(10_000);
    expect(after.onlineNodeIds()).toEqual([]);
    after.close();
  });

  it("gives runs back with their overrides, status, bundle and events", async () => {
    const path = await databaseFile();
    const db = new SuperLinkDatabase(path);
    const runs = new RunRegistry(db);
    const bundle = new Uint8Array([1, 2, 3]);
    const run = runs.create(
      { hash: "h", id: "p/app", version: "1.0.0" },
      bundle,
      { lr: 0.5, seed: 7, big: 2n ** 62n, name: "x", on: true },
      { seed: 7, big: 2n ** 62n, name: "x", on: true },
    );
    runs.emit(run, { $typeName: "fedbridge.v1.RunEvent", event: { case: "log", value: "one" } });
    const done = runs.create({ hash: "h", id: "p/app", version: "1.0.0" }, bundle, {}, {});
    runs.finish(done, "failed", "why");
    db.close();

    const again = new SuperLinkDatabase(path);
    const stored = again.runs();
    const back = stored.find((r) => r.runId === run.runId);
    expect(back).toMatchObject({
      fabHash: "h",
      fabId: "p/app",
      status: "running",
      overrideConfig: { seed: 7, big: 2n ** 62n, name: "x", on: true },
    });
    expect(back?.events.map((e) => e.event.value)).toEqual(["one"]);
    expect(stored.find((r) => r.runId === done.runId)).toMatchObject({
      status: "finished",
      subStatus: "failed",
      details: "why",
    });
    expect(again.bundle("h")).toEqual(bundle);
    again.close();
  });

  it("journals replies whole and node lists in order, per run", async () => {
    const path = await databaseFile();
    const db = new SuperLinkDatabase(path);
    const instruction = new Message(new RecordDict({ config: new ConfigRecord({ round: 1 }) }), {
      dstNodeId: 17n,
      messageType: "train",
    });
    instruction.metadata.messageId = computeMessageId(instruction);
    const reply = new Message(new RecordDict({ metrics: new ConfigRecord({ loss: 0.25 }) }), {
      replyTo: instruction,
    });
    const journal = db.journal(42n);
    journal.record("k1", 17n, reply);
    journal.recordNodeList(0, [17n, 18n]);
    db.journal(43n).record("k9", 18n, reply);
    db.close();

    const again = new SuperLinkDatabase(path).journal(42n);
    expect([...again.entries()]).toEqual([["k1", { seq: 1, node: "node 17" }]]);
    expect(again.nodeLists()).toEqual([[17n, 18n]]);
    const back = again.load("k1");
    expect(back.content.configRecords.get("metrics")?.get("loss")).toBe(0.25);
    expect(() => again.load("k9")).toThrow(/holds no reply k9/);
  });
});
