import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { readEventFile, readEventFiles } from "./event-file-reader.ts";
import { createEventFileWriter } from "./event-file-writer.ts";
import { makeHistogram } from "./histogram.ts";
import { toTensorBoardEvent } from "./tensorboard-event.ts";
import type { TrackingEvent } from "./tracking-event.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "event-file-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_750_000_000_123;
const clock = () => T0;

const events: TrackingEvent[] = [
  { kind: "scalar", tag: "train/loss", step: 1, value: 0.25, wallTime: 1_750_000_001.5 },
  { kind: "text", tag: "notes", step: 1, text: "round 1: ünïcode ✓", wallTime: 1_750_000_002 },
  {
    kind: "histogram",
    tag: "weights",
    step: 2,
    histogram: makeHistogram([0.1, -0.2, 0.3, 0.3, 5]),
    wallTime: 1_750_000_003,
  },
  { kind: "scalar", tag: "eval/accuracy", step: 2, value: 0.875, wallTime: 1_750_000_004 },
];

describe("createEventFileWriter", () => {
  it("names the file as TensorBoard expects and starts it with brain.Event:2", () => {
    const writer = createEventFileWriter(join(dir, "run"), { now: clock, hostname: "node-a" });
    expect(writer.path).toBe(join(dir, "run", "events.out.tfevents.1750000000.node-a"));
    // The first record is on disk at once, before any flush.
    const first = readEventFile(readFileSync(writer.path));
    expect(first.fileVersion).toBe("brain.Event:2");
    expect(first.events[0]?.wallTime).toBe(1_750_000_000.123);
    expect(first.events[0]?.sourceMetadata?.writer).toBe("fedbridge.tracking");
    writer.close();
  });

  it("writes scalars, text and histograms that the reader reads back exactly", () => {
    const writer = createEventFileWriter(dir, {
      now: clock,
      hostname: "h",
      filenameSuffix: "site-1",
    });
    expect(writer.path.endsWith("events.out.tfevents.1750000000.h.site-1")).toBe(true);
    for (const event of events) writer.write(toTensorBoardEvent(event));
    writer.close();
    const back = readEventFile(readFileSync(writer.path));
    expect(back.trackingEvents).toEqual(events);
    expect(back.scalars).toEqual([
      { tag: "train/loss", step: 1, value: 0.25, wallTime: 1_750_000_001.5 },
      { tag: "eval/accuracy", step: 2, value: 0.875, wallTime: 1_750_000_004 },
    ]);
    expect(back.texts[0]?.text).toBe("round 1: ünïcode ✓");
    expect(back.histograms[0]?.histogram.num).toBe(5);
  });

  it("stores scalars as float32, as PyTorch does", () => {
    const writer = createEventFileWriter(dir, { now: clock });
    writer.write(
      toTensorBoardEvent({ kind: "scalar", tag: "x", step: 0, value: 0.1, wallTime: 1 }),
    );
    writer.close();
    expect(readEventFile(readFileSync(writer.path)).scalars[0]?.value).toBe(Math.fround(0.1));
  });

  it("buffers up to maxQueue events, then writes; flush and close write the rest", () => {
    const writer = createEventFileWriter(dir, { now: clock, maxQueue: 3, flushMs: 60_000 });
    const size = () => statSync(writer.path).size;
    const header = size();
    writer.write(toTensorBoardEvent(events[0] as TrackingEvent));
    writer.write(toTensorBoardEvent(events[0] as TrackingEvent));
    expect(size()).toBe(header);
    writer.write(toTensorBoardEvent(events[0] as TrackingEvent));
    expect(size()).toBeGreaterThan(header);
    const afterThree = size();
    writer.write(toTensorBoardEvent(events[3] as TrackingEvent));
    expect(size()).toBe(afterThree);
    writer.flush();
    expect(readEventFile(readFileSync(writer.path)).scalars).toHaveLength(4);
    writer.write(toTensorBoardEvent(events[3] as TrackingEvent));
    writer.close();
    expect(readEventFile(readFileSync(writer.path)).scalars).toHaveLength(5);
    expect(() => writer.write(toTensorBoardEvent(events[3] as TrackingEvent))).toThrow(/is closed/);
  });

  it("writes buffered events after flushMs without a call", async () => {
    const writer = createEventFileWriter(dir, { now: clock, flushMs: 20 });
    writer.write(toTensorBoardEvent(events[0] as TrackingEvent));
    expect(readEventFile(readFileSync(writer.path)).scalars).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(readEventFile(readFileSync(writer.path)).scalars).toHaveLength(1);
    writer.close();
  });

  it("never replaces an existing file: a second writer in the same second gets .1", () => {
    const a = createEventFileWriter(dir, { now: clock, hostname: "h" });
    const b = createEventFileWriter(dir, { now: clock, hostname: "h", filenameSuffix: "x" });
    const c = createEventFileWriter(dir, { now: clock, hostname: "h" });
    expect([a, b, c].map((w) => w.path.slice(dir.length + 1))).toEqual([
      "events.out.tfevents.1750000000.h",
      "events.out.tfevents.1750000000.h.x",
      "events.out.tfevents.1750000000.h.1",
    ]);
    for (const w of [a, b, c]) w.close();
  });

  it("reads a folder of files as one run, and refuses a corrupted byte in any of them", () => {
    const a = createEventFileWriter(dir, { now: clock, hostname: "h" });
    a.write(toTensorBoardEvent(events[0] as TrackingEvent));
    a.close();
    const b = createEventFileWriter(dir, { now: () => T0 + 1000, hostname: "h" });
    b.write(toTensorBoardEvent(events[3] as TrackingEvent));
    b.close();
    writeFileSync(join(dir, "not-an-event-file.txt"), "ignored");
    const run = readEventFiles(dir);
    expect(run.files).toEqual([a.path, b.path]);
    expect(run.scalars.map((s) => s.tag)).toEqual(["train/loss", "eval/accuracy"]);

    const bytes = readFileSync(b.path);
    const at = bytes.length - 6; // inside the last record's data
    bytes[at] = (bytes[at] as number) ^ 0xff;
    writeFileSync(b.path, bytes);
    let error: unknown;
    try {
      readEventFiles(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FedbridgeError);
    expect((error as FedbridgeError).code).toBe(Code.DataLoss);
    expect((error as FedbridgeError).message).toContain(`${b.path}: record at byte `);
    expect((error as FedbridgeError).message).toContain("data CRC mismatch");
    expect(readdirSync(dir)).toHaveLength(3);
  });

  it("reports a folder without event files as NotFound", () => {
    expect(() => readEventFiles(dir)).toThrow(/no event files in/);
    expect(() => readEventFiles(join(dir, "missing"))).toThrow(/cannot read event files/);
  });
});
