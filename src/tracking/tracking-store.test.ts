import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { type JobScalarEvent, TrackingStore, trackingStorePath } from "./tracking-store.ts";

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "tracking-store-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const scalar = (over: Partial<JobScalarEvent>): JobScalarEvent => ({
  kind: "scalar",
  job: "j1",
  tag: "train/loss",
  step: 1,
  value: 0.5,
  wallTime: 100,
  ...over,
});

describe("TrackingStore", () => {
  it("records scalars and lists them by job, tag and site, in WAL mode with synchronous FULL", () => {
    const path = trackingStorePath(join(tmp, "ws"));
    expect(path).toBe(join(tmp, "ws", "tracking.db"));
    const store = new TrackingStore(path);
    store.record([
      scalar({ site: "site-2", step: 2, value: 0.4 }),
      scalar({ site: "site-1", step: 2, value: 0.3 }),
      scalar({ site: "site-1", step: 1, value: 0.6 }),
      scalar({ tag: "eval/accuracy", step: 1, value: 0.9 }),
      scalar({ job: "j2", value: 1 }),
    ]);
    expect(store.jobs()).toEqual(["j1", "j2"]);
    expect(store.scalars("j1").map((s) => [s.tag, s.step, s.site, s.value])).toEqual([
      ["eval/accuracy", 1, "server", 0.9],
      ["train/loss", 1, "site-1", 0.6],
      ["train/loss", 2, "site-1", 0.3],
      ["train/loss", 2, "site-2", 0.4],
    ]);
    expect(store.scalars("j1", { tag: "train/loss", site: "site-1" }).map((s) => s.step)).toEqual([
      1, 2,
    ]);
    expect(store.scalars("j1", { site: "server" })).toHaveLength(1);
    expect(store.scalars("nope")).toEqual([]);
    store.close();

    const raw = new Database(path, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    const indexes = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index'")
      .pluck()
      .all();
    expect(indexes).toContain("scalars_job_tag_step");
    raw.close();
  });

  it("replaces a (job, site, tag, step) logged again, as a resumed round does", () => {
    const store = new TrackingStore(":memory:");
    store.record([scalar({ value: 0.5, wallTime: 1 })]);
    store.record([scalar({ value: 0.25, wallTime: 2 })]);
    expect(store.scalars("j1")).toEqual([
      { job: "j1", site: "server", tag: "train/loss", step: 1, value: 0.25, wallTime: 2 },
    ]);
    store.close();
  });

  it("refuses a batch with a bad event whole, naming the tag, and keeps working", () => {
    const store = new TrackingStore(":memory:");
    let error: unknown;
    try {
      store.record([scalar({ step: 1 }), scalar({ tag: "bad", value: Number.NaN })]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FedbridgeError);
    expect((error as FedbridgeError).code).toBe(Code.InvalidArgument);
    expect((error as FedbridgeError).message).toMatch(
      /"bad": scalar value must be a finite number, got NaN/,
    );
    expect(() => store.record([scalar({ tag: "t".repeat(10_240) })])).toThrow(
      /over the limit of 1024/,
    );
    expect(store.scalars("j1")).toEqual([]);
    expect(store.record([scalar({})])).toBe(1);
    store.close();
  });

  it("exports a job as CSV, quoting what needs it", () => {
    const store = new TrackingStore(":memory:");
    store.record([
      scalar({ site: "site-1", tag: 'odd, "tag"', step: 3, value: 0.1, wallTime: 1.5 }),
      scalar({ site: "site-1", step: 1, value: 1e-7, wallTime: 2 }),
    ]);
    expect(store.toCsv("j1")).toBe(
      'site,tag,step,value,wall_time\r\nsite-1,"odd, ""tag""",3,0.1,1.5\r\nsite-1,train/loss,1,1e-7,2\r\n',
    );
    store.close();
  });

  it("refuses a missing file when it must exist, and a newer schema", () => {
    const missing = join(tmp, "none", "tracking.db");
    expect(() => new TrackingStore(missing, { mustExist: true })).toThrow(/no tracking store at/);
    const path = join(tmp, "newer.db");
    const raw = new Database(path);
    raw.pragma("user_version = 7");
    raw.close();
    expect(() => new TrackingStore(path)).toThrow(
      /schema version 7, newer than this fedbridge's 1/,
    );
  });

  it("keeps committed rows when the process writing them is SIGKILLed", async () => {
    const path = join(tmp, "killed.db");
    const moduleUrl = pathToFileURL(join(import.meta.dirname, "tracking-store.ts")).href;
    // The child commits three rounds from two sites, then opens a transaction it never commits
    // and says so; it is killed mid-transaction, a real process killed by a real signal.
    const script = `
      import { TrackingStore } from ${JSON.stringify(moduleUrl)};
      const store = new TrackingStore(${JSON.stringify(path)});
      for (let round = 1; round <= 3; round++) {
        store.record(["site-1", "site-2"].map((site) => ({ kind: "scalar", job: "k", site,
          tag: "train/loss", step: round, value: round / 10, wallTime: round })));
      }
      const Database = (await import("better-sqlite3")).default;
      const raw = new Database(${JSON.stringify(path)});
      raw.exec("BEGIN IMMEDIATE");
      raw.prepare("INSERT INTO scalars (job, site, tag, step, value, wall_time) VALUES ('k', 'site-1', 'lost', 9, 1, 1)").run();
      process.stdout.write("ready\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code})`)));
    });
    const exited = new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const store = new TrackingStore(path);
    expect(store.jobs()).toEqual(["k"]);
    const rows = store.scalars("k");
    expect(rows.map((r) => [r.site, r.step, r.value])).toEqual([
      ["site-1", 1, 0.1],
      ["site-2", 1, 0.1],
      ["site-1", 2, 0.2],
      ["site-2", 2, 0.2],
      ["site-1", 3, 0.3],
      ["site-2", 3, 0.3],
    ]);
    expect(store.scalars("k", { tag: "lost" })).toEqual([]);
    store.close();
  });
});
