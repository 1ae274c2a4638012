import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readEventFiles, TrackingStore, trackingStorePath } from "../src/tracking/index.ts";
import { killAll } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { startTestRuntime } from "./runtime-harness.ts";
import { quickstartWith } from "./test-apps.ts";

afterAll(killAll);

describe("tracking of a bridged job", () => {
  it("writes event files for the server and each site that pass their CRC checks and agree with the store and result.json", async () => {
    const runtime = await startTestRuntime(3);
    const submitted = await runtime.admin([
      "submit",
      "examples/mnist",
      "--seed",
      "1",
      "--run-config",
      "num-server-rounds=2",
    ]);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    expect((await runtime.admin(["wait", jobId, "--timeout", "240"])).code).toBe(0);
    const out = join(runtime.root, "download");
    expect((await runtime.admin(["download", jobId, "-o", out])).code).toBe(0);

    const workspace = join(runtime.kits, "server1");
    const tb = join(workspace, "jobs", jobId, "tb_events");
    const runs = Object.fromEntries(
      ["server", "site-1", "site-2", "site-3"].map((run) => [run, readEventFiles(join(tb, run))]),
    );
    for (const contents of Object.values(runs)) expect(contents.fileVersion).toBe("brain.Event:2");
    // The server's run: aggregated metrics per round; each site's run: its own metrics.
    const server = runs.server?.scalars ?? [];
    expect(server.filter((s) => s.tag === "server/accuracy").map((s) => s.step)).toEqual([1, 2]);
    expect(runs["site-2"]?.scalars.some((s) => s.tag === "train/train-loss")).toBe(true);
    // One writer (the server parent), each round's scalars once: one event file per run, each
    // (tag, step) in it once.
    for (const [run, contents] of Object.entries(runs)) {
      const points = contents.scalars.map((s) => `${s.tag}@${s.step}`);
      expect(new Set(points).size, run).toBe(points.length);
      const files = (await readdir(join(tb, run))).filter((name) => name.includes("tfevents"));
      expect(files, run).toHaveLength(1);
    }

    // Event files = SQLite store (event files keep float32) ...
    const store = new TrackingStore(trackingStorePath(workspace));
    const stored = store.scalars(jobId);
    store.close();
    const filePoints = Object.values(runs).reduce((n, contents) => n + contents.scalars.length, 0);
    expect(stored.length).toBe(filePoints);
    for (const [run, contents] of Object.entries(runs)) {
      for (const point of contents.scalars) {
        const row = stored.find(
          (r) => r.site === run && r.tag === point.tag && r.step === point.step,
        );
        expect(row, `${run} ${point.tag} ${point.step}`).toBeDefined();
        expect(point.value).toBe(Math.fround(row?.value as number));
      }
    }
    // ... = result.json.
    const result = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
    for (const round of result.rounds) {
      for (const [key, value] of Object.entries(round.serverEvaluate as Record<string, number>)) {
        const point = server.find((s) => s.tag === `server/${key}` && s.step === round.round);
        expect(point?.value).toBe(Math.fround(value));
      }
    }
    const shown = await runFedbridge([
      "tracking",
      "show",
      jobId,
      "--workspace",
      workspace,
      "--json",
    ]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).length).toBe(stored.length);
  }, 300_000);

  it("streams an app's SummaryWriter scalars from the sites to the server, stamped with the site; bad values refused, the job goes on", async () => {
    const runtime = await startTestRuntime(3);
    const app = await quickstartWith("tracked-quickstart");
    const jobId = (await runtime.admin(["submit", app])).stdout.trim().split("\n").at(-1) as string;
    expect((await runtime.admin(["wait", jobId, "--timeout", "120"])).code).toBe(0);
    const workspace = join(runtime.kits, "server1");
    const store = new TrackingStore(trackingStorePath(workspace));
    const partitions = store.scalars(jobId, { tag: "app/partition" });
    store.close();
    // Each site logged its partition-id in rounds 1 and 2, and the server knows who sent it.
    expect(partitions.map((r) => [r.site, r.step, r.value]).sort()).toEqual([
      ["site-1", 1, 0],
      ["site-1", 2, 0],
      ["site-2", 1, 1],
      ["site-2", 2, 1],
      ["site-3", 1, 2],
      ["site-3", 2, 2],
    ]);
    const files = readEventFiles(join(workspace, "jobs", jobId, "tb_events", "site-2"));
    expect(files.scalars.filter((s) => s.tag === "app/partition").map((s) => s.value)).toEqual([
      1, 1,
    ]);
    expect(files.scalars.some((s) => s.tag === "app/broken")).toBe(false);
    const server = readEventFiles(join(workspace, "jobs", jobId, "tb_events", "server")).scalars;
    expect(server.filter((s) => s.tag === "app/planned-rounds").map((s) => s.value)).toEqual([2]);
  });
});
