import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { readEventFiles } from "./event-file-reader.ts";
import { SummaryWriter } from "./summary-writer.ts";
import type { TrackingEvent } from "./tracking-event.ts";
import type { TrackingSink } from "./tracking-sink.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "summary-writer-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const NOW = 1_750_000_000_000;

function memorySink(): TrackingSink & { events: TrackingEvent[] } {
  const events: TrackingEvent[] = [];
  return { events, write: (event) => void events.push(event) };
}

function refusal(run: () => void): FedbridgeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FedbridgeError);
    return error as FedbridgeError;
  }
  throw new Error("expected a refusal");
}

describe("SummaryWriter", () => {
  it("writes an event file in its log folder that the reader reads back", async () => {
    const writer = new SummaryWriter(join(dir, "run"));
    for (let step = 0; step < 3; step++) writer.addScalar("train/loss", 1 / (step + 1), step);
    writer.addText("notes", "hello", 2);
    writer.addHistogram("weights", [0.1, 0.2, 0.2, 0.9], 2, 4);
    await writer.close();
    const run = readEventFiles(join(dir, "run"));
    expect(run.files).toHaveLength(1);
    expect(run.scalars.map((s) => [s.tag, s.step, s.value])).toEqual([
      ["train/loss", 0, 1],
      ["train/loss", 1, Math.fround(0.5)],
      ["train/loss", 2, Math.fround(1 / 3)],
    ]);
    expect(run.texts.map((t) => t.text)).toEqual(["hello"]);
    expect(run.histograms[0]?.histogram).toMatchObject({ num: 4, buckets: [0, 3, 0, 0, 1] });
  });

  it("defaults to PyTorch's runs/<date>_<host> folder, step 0 and wall time now", async () => {
    const writer = new SummaryWriter({ now: () => NOW, sink: memorySink() });
    expect(writer.logDir).toBeUndefined();
    const local = new SummaryWriter({ now: () => NOW });
    expect(local.logDir).toMatch(/^runs\/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.+$/);
    await local.close();
    // Nothing logged, so no folder was made.
    expect(() => readdirSync(local.logDir as string)).toThrow();

    const sink = memorySink();
    const stamped = new SummaryWriter({ sink, now: () => NOW, site: "site-1", job: "j1" });
    stamped.addScalar("a", 1);
    expect(sink.events).toEqual([
      {
        kind: "scalar",
        tag: "a",
        value: 1,
        step: 0,
        wallTime: NOW / 1000,
        site: "site-1",
        job: "j1",
      },
    ]);
  });

  it("logs addScalars as one tag per key", () => {
    const sink = memorySink();
    const writer = new SummaryWriter({ sink });
    writer.addScalars("loss", { train: 0.5, eval: 0.75 }, 4, 123);
    expect(
      sink.events.map((e) => [e.tag, e.step, e.kind === "scalar" && e.value, e.wallTime]),
    ).toEqual([
      ["loss/train", 4, 0.5, 123],
      ["loss/eval", 4, 0.75, 123],
    ]);
  });

  it("refuses non-finite values and bad tags, naming the tag, and goes on working", async () => {
    const sink = memorySink();
    const writer = new SummaryWriter({ sink });
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const error = refusal(() => writer.addScalar("train/loss", value, 1));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.message).toContain('"train/loss"');
      expect(error.message).toContain(String(value));
    }
    const long = "x".repeat(10 * 1024);
    const tooLong = refusal(() => writer.addScalar(long, 1, 1));
    expect(tooLong.code).toBe(Code.InvalidArgument);
    expect(tooLong.message).toMatch(
      /tracking tag "x{60}…" is 10240 characters long, over the limit of 1024/,
    );
    expect(refusal(() => writer.addScalar("", 1)).message).toMatch(/non-empty/);
    expect(refusal(() => writer.addScalar("a", 1, -1)).message).toMatch(
      /"a": step must be a non-negative integer/,
    );
    expect(refusal(() => writer.addScalar("a", 1, 1.5)).code).toBe(Code.InvalidArgument);
    expect(refusal(() => writer.addHistogram("h", [1, Number.NaN])).message).toMatch(
      /^tracking tag "h": histogram value 1 is NaN/,
    );
    // One bad key refuses the whole addScalars call.
    expect(refusal(() => writer.addScalars("m", { a: 1, b: Number.NaN })).message).toContain(
      '"m/b"',
    );
    expect(sink.events).toEqual([]);

    writer.addScalar("x".repeat(1024), 2, 1);
    writer.addScalar("train/loss", 0.5, 1);
    expect(sink.events.map((e) => e.tag.length)).toEqual([1024, 10]);
    await writer.close();
    expect(refusal(() => writer.addScalar("a", 1)).code).toBe(Code.FailedPrecondition);
  });

  it("waits for an asynchronous sink on flush and reports its failure once", async () => {
    const accepted: string[] = [];
    let fail = false;
    const sink: TrackingSink = {
      write: async (event) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fail) throw new Error("server unreachable");
        accepted.push(event.tag);
      },
    };
    const writer = new SummaryWriter({ sink });
    writer.addScalar("a", 1);
    writer.addScalar("b", 2);
    await writer.flush();
    expect(accepted).toEqual(["a", "b"]);
    fail = true;
    writer.addScalar("c", 3);
    await expect(writer.flush()).rejects.toThrow(/server unreachable/);
    await writer.flush();
  });
});
