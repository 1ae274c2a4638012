import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readEventFiles } from "./event-file-reader.ts";
import { createStoreSink } from "./store-sink.ts";
import { SummaryWriter } from "./summary-writer.ts";
import { createTensorBoardSink } from "./tensorboard-sink.ts";
import { fanOut, type TrackingSink } from "./tracking-sink.ts";
import { TrackingStore } from "./tracking-store.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tb-sink-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("createTensorBoardSink", () => {
  it("writes one run folder per site and one for the server", async () => {
    const root = join(dir, "tb_events");
    const sink = createTensorBoardSink(root);
    for (const site of ["site-1", "site-2", undefined]) {
      const writer = new SummaryWriter({ sink, ...(site ? { site } : {}) });
      for (let round = 1; round <= 3; round++)
        writer.addScalar("train/loss", round / 10, round, 100 + round);
      await writer.flush();
    }
    sink.close?.();
    expect(readdirSync(root).sort()).toEqual(["server", "site-1", "site-2"]);
    for (const run of ["server", "site-1", "site-2"]) {
      const contents = readEventFiles(join(root, run));
      expect(contents.files).toHaveLength(1);
      expect(contents.fileVersion).toBe("brain.Event:2");
      expect(contents.scalars.map((s) => [s.step, s.value])).toEqual([
        [1, Math.fround(0.1)],
        [2, Math.fround(0.2)],
        [3, Math.fround(0.3)],
      ]);
    }
  });

  it("refuses a site name that would leave the root folder", () => {
    const sink = createTensorBoardSink(dir);
    for (const site of ["..", "../x", "a/b", ".hidden", ""]) {
      expect(() =>
        sink.write({ kind: "scalar", tag: "t", step: 0, value: 1, wallTime: 1, site }),
      ).toThrow(/cannot name an event-file folder/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("createStoreSink and fanOut", () => {
  it("records scalars in the store and the same values in event files", async () => {
    const store = new TrackingStore(join(dir, "tracking.db"));
    const sink = fanOut(createTensorBoardSink(join(dir, "tb")), createStoreSink(store, "job-1"));
    const writer = new SummaryWriter({ sink, site: "site-1", job: "claimed-by-sender" });
    writer.addScalar("eval/accuracy", 0.5, 1, 10);
    writer.addScalar("eval/accuracy", 0.625, 2, 11);
    writer.addText("note", "text goes to event files only", 2);
    // Committed at the end of the turn, without a flush.
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.scalars("job-1").map((s) => s.value)).toEqual([0.5, 0.625]);
    await writer.close();
    expect(store.jobs()).toEqual(["job-1"]);
    expect(store.scalars("job-1")[0]).toEqual({
      job: "job-1",
      site: "site-1",
      tag: "eval/accuracy",
      step: 1,
      value: 0.5,
      wallTime: 10,
    });
    const files = readEventFiles(join(dir, "tb", "site-1"));
    expect(files.scalars.map((s) => s.value)).toEqual(store.scalars("job-1").map((s) => s.value));
    expect(files.texts).toHaveLength(1);
    store.close();
  });

  it("gives every sink every event even when one fails, then reports the failure", async () => {
    const seen: string[] = [];
    const broken: TrackingSink = {
      write: () => {
        throw new Error("disk full");
      },
    };
    const working: TrackingSink = { write: (e) => void seen.push(e.tag) };
    const asyncBroken: TrackingSink = { write: async () => Promise.reject(new Error("offline")) };
    expect(() =>
      fanOut(broken, working).write({ kind: "scalar", tag: "a", step: 0, value: 1, wallTime: 1 }),
    ).toThrow(/disk full/);
    await expect(
      fanOut(asyncBroken, working).write({
        kind: "scalar",
        tag: "b",
        step: 0,
        value: 1,
        wallTime: 1,
      }),
    ).rejects.toThrow(/offline/);
    expect(seen).toEqual(["a", "b"]);
  });
});
