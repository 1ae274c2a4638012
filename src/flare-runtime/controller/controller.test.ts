import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  type ArrayEntry,
  arrayEntries,
  arrayRecord,
  float32Array,
  float32Values,
  recordDict,
} from "../shareable/records.ts";
import { createShareable, DataKind, type Shareable } from "../shareable/shareable.ts";
import { decodeShareable } from "../shareable/shareable-codec.ts";
import { createInMemoryJob } from "../workflows/testing/in-memory-job.ts";
import { Controller } from "./controller.ts";
import { ReturnCode, type TaskResult } from "./task.ts";

const SITES = ["site-1", "site-2", "site-3", "site-4"];
const number = (value: number): Shareable =>
  createShareable(
    DataKind.WEIGHTS,
    recordDict({
      arrays: { model: arrayRecord([["x", float32Array(Float32Array.of(value), [1])]]) },
    }),
  );
const numberIn = (shareable: Shareable) =>
  float32Values((arrayEntries(shareable.records)[0] as ArrayEntry).array)[0];

describe("Controller.broadcastAndWait", () => {
  it("gives one result per target, in target order, whatever order they arrive in", async () => {
    const delays: Record<string, number> = {
      "site-1": 40,
      "site-2": 0,
      "site-3": 20,
      "site-4": 10,
    };
    const job = createInMemoryJob(SITES, async (site, _task, data) => {
      await sleep(delays[site]);
      return number((numberIn(data) as number) + Number(site.at(-1)));
    });
    const results = await new Controller(job).broadcastAndWait({ name: "train", data: number(10) });
    expect(results.map((r) => [r.site, r.code])).toEqual(SITES.map((s) => [s, ReturnCode.OK]));
    expect(await Promise.all(results.map(async (r) => numberIn(await r.read())))).toEqual([
      11, 12, 13, 14,
    ]);
  });

  it("keeps a small result that came whole (no file) by writing it where it is kept", async () => {
    const dir = await mkdtemp(join(tmpdir(), "controller-keep-"));
    try {
      const job = createInMemoryJob(SITES, async (site) => number(Number(site.at(-1))));
      const [result] = await new Controller(job).broadcastAndWait(
        { name: "train", data: number(0) },
        { targets: ["site-2"] },
      );
      const kept = join(dir, "journal", "site-2.result");
      await result?.keep?.(kept);
      expect(numberIn(decodeShareable(await readFile(kept), "kept"))).toBe(2);
      expect(numberIn(await (result as TaskResult).read())).toBe(2);
      await expect(result?.keep?.(join(dir, "again"))).rejects.toThrow(/was kept/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("ends waitTimeAfterMinReceived after minResponses, gives the slow site TIMEOUT, and logs its late result as stale", async () => {
    // site-4 answers only once the test lets it, after the task has ended.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job = createInMemoryJob(SITES, async (site, _task, data) => {
      if (site === "site-4") await released;
      return data;
    });
    const results = await new Controller(job).broadcastAndWait(
      { name: "train", data: number(1) },
      { minResponses: 3, waitTimeAfterMinReceived: 0.1 },
    );
    expect(results.map((r) => r.code)).toEqual(["OK", "OK", "OK", "TIMEOUT"]);
    expect(results[3]?.message).toMatch(/no result within 0.1 s after the first 3/);
    release();
    await vi.waitFor(
      () => expect(job.logs.join("\n")).toMatch(/stale result of site-4 for task train ignored/),
      { timeout: 10_000 },
    );
  });

  it("gives ERROR with the site's message, CLIENT_DEAD for a gone site, and TIMEOUT at the task's timeout", async () => {
    const job = createInMemoryJob(SITES, async (site, _task, data) => {
      if (site === "site-1") throw new Error("no data here");
      if (site === "site-2") throw new FedbridgeError(Code.Unavailable, "site-2 is offline");
      if (site === "site-3") await sleep(1000);
      return data;
    });
    const results = await new Controller(job).broadcastAndWait({
      name: "train",
      data: number(1),
      timeout: 0.2,
    });
    expect(results.map((r) => [r.site, r.code])).toEqual([
      ["site-1", "ERROR"],
      ["site-2", "CLIENT_DEAD"],
      ["site-3", "TIMEOUT"],
      ["site-4", "OK"],
    ]);
    expect(results[0]?.message).toMatch(/no data here/);
    await expect(results[0]?.read()).rejects.toThrow(/site-1 gave no result: ERROR/);
  });

  it("refuses a task whose key a site would refuse, naming the site, before sending it", async () => {
    const sent: string[] = [];
    const job = createInMemoryJob(SITES, async (site) => {
      sent.push(site);
      return number(1);
    });
    const task = { name: "train", data: number(1), keys: { "site-1": "ok-1", "site-2": "../x" } };
    await expect(new Controller(job).broadcastAndWait(task)).rejects.toThrow(
      `task train: the key for site-2 must be 1 to 128 letters, digits, '-' or '_', not "../x"`,
    );
    expect(sent).toEqual([]);
  });

  it("ends with ABORTED when the job is aborted", async () => {
    const abort = new AbortController();
    const job = createInMemoryJob(SITES, () => sleep(1000).then(() => number(0)), {
      signal: abort.signal,
    });
    const pending = new Controller(job).broadcastAndWait({ name: "train", data: number(1) });
    abort.abort();
    expect((await pending).map((r) => r.code)).toEqual(Array(4).fill("ABORTED"));
  });
});

describe("Controller.send and relay", () => {
  it("send (sequential) tries targets in order until one succeeds; (any) takes the first success", async () => {
    const tried: string[] = [];
    const job = createInMemoryJob(SITES, async (site, _task, data) => {
      tried.push(site);
      if (site === "site-1") throw new Error("busy");
      if (site === "site-3") await sleep(50);
      return data;
    });
    const controller = new Controller(job);
    const sequential = await controller.send({ name: "t", data: number(1) });
    expect(sequential.site).toBe("site-2");
    expect(tried).toEqual(["site-1", "site-2"]);
    const any = await controller.send({ name: "t", data: number(1) }, { order: "any" });
    expect(["site-2", "site-4"]).toContain(any.site);
    expect(any.code).toBe("OK");
  });

  it("relay hands each site's result to the next site, skipping a site that fails", async () => {
    const job = createInMemoryJob(SITES, async (site, _task, data) => {
      if (site === "site-3") throw new Error("down");
      return number((numberIn(data) as number) * 10 + Number(site.at(-1)));
    });
    const { data, results } = await new Controller(job).relay({ name: "train", data: number(0) });
    // 0 → site-1: 1 → site-2: 12 → (site-3 fails) → site-4: 124.
    expect(numberIn(data)).toBe(124);
    expect(results.map((r) => r.code)).toEqual(["OK", "OK", "ERROR", "OK"]);
  });
});
