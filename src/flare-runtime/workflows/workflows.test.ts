import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { Controller } from "../controller/controller.ts";
import { ReturnCode, type TaskResult } from "../controller/task.ts";
import {
  type ArrayEntry,
  arrayEntries,
  arrayRecord,
  arraysSha256,
  float32Array,
  float32Values,
  recordDict,
} from "../shareable/records.ts";
import { createShareable, DataKind, type Shareable } from "../shareable/shareable.ts";
import { encodeShareable, joinPieces } from "../shareable/shareable-codec.ts";
import { ShareableFile } from "../shareable/shareable-file.ts";
import { createCrossSiteEval } from "./cross-site-eval.ts";
import { createCyclic } from "./cyclic.ts";
import { InTimeAggregator } from "./in-time-aggregator.ts";
import { createScatterAndGather, scatterAndGatherArgs } from "./scatter-and-gather.ts";
import { createInMemoryJob, type InMemoryJob } from "./testing/in-memory-job.ts";
import type { WorkflowState } from "./workflow.ts";
import { createWorkflow } from "./workflow-registry.ts";

const SITES = ["site-1", "site-2", "site-3"];
const model = (values: number[], meta: Shareable["meta"] = {}): Shareable =>
  createShareable(
    DataKind.WEIGHTS,
    recordDict({
      arrays: {
        model: arrayRecord([["w", float32Array(Float32Array.from(values), [values.length])]]),
      },
      metrics: { metrics: { loss: values[0] ?? 0 } },
    }),
    meta,
  );
const values = (shareable: Shareable) => [
  ...float32Values((arrayEntries(shareable.records)[0] as ArrayEntry).array),
];
const okResult = (site: string, shareable: Shareable): TaskResult => {
  const bytes = joinPieces(encodeShareable(shareable)).slice();
  return {
    site,
    code: ReturnCode.OK,
    read: async () => (await import("../shareable/shareable-codec.ts")).decodeShareable(bytes),
  };
};
/** A result waiting in a file, read in chunks by whoever opens it (as the server's are). */
const fileResult = async (site: string, shareable: Shareable): Promise<TaskResult> => {
  const path = join(await mkdtemp(join(tmpdir(), "fedbridge-result-")), `${site}.result`);
  await writeFile(path, joinPieces(encodeShareable(shareable)));
  return {
    site,
    code: ReturnCode.OK,
    read: () => Promise.reject(new Error("read whole")),
    open: () => ShareableFile.open(path),
  };
};
const persistor = { persistor: { load: () => model([0.1, 0.2, 0.3]) } };

/** Each site "trains" by adding 0.01 × its number × round; weights 10 × its number. */
const trainingSites =
  (delays: Record<string, number> = {}) =>
  (site: string, _task: string, data: Shareable) =>
    sleep(delays[site] ?? 0).then(() => {
      const n = Number(site.at(-1));
      const round = Number(data.meta.round);
      return model(
        values(data).map((v) => v + 0.01 * n * round),
        { numExamples: 10 * n },
      );
    });

async function runSag(job: InMemoryJob, numRounds: number): Promise<WorkflowState> {
  const state: WorkflowState = { result: {} };
  const args = scatterAndGatherArgs.parse({ numRounds, waitTimeAfterMinReceived: 0 });
  await createScatterAndGather(args).run({
    controller: new Controller(job),
    job,
    state,
    importJobModule: async <T>() => persistor as T,
  });
  return state;
}

describe("InTimeAggregator", () => {
  it("gives the same weighted average, bit for bit, whatever order results arrive in", async () => {
    const inputs: [string, Shareable][] = [
      ["site-1", model([0.1, 1e-8, 3], { numExamples: 3 })],
      ["site-2", model([0.7, 1e8, -3], { numExamples: 7 })],
      ["site-3", model([0.3, 1, 1 / 3], { numExamples: 11 })],
    ];
    const averages = new Set<string>();
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
      [2, 0, 1],
    ]) {
      const aggregator = new InTimeAggregator(SITES);
      for (const i of order) {
        const [site, shareable] = inputs[i] as [string, Shareable];
        aggregator.arrived(okResult(site, shareable));
        await sleep(1);
      }
      const aggregate = await aggregator.finish([]);
      averages.add(arraysSha256(aggregate?.records ?? recordDict({})));
      expect(aggregate?.sites).toEqual(SITES);
      expect(aggregate?.totalWeight).toBe(21);
    }
    expect(averages.size).toBe(1);
  });

  it("folds results waiting on disk in chunks, to the bits of folding them whole", async () => {
    const big = (n: number, seed: number) =>
      model(
        Array.from({ length: 10_000 }, (_, i) => Math.sin(i * seed) * n),
        { numExamples: seed },
      );
    const inputs: [string, Shareable][] = SITES.map((site, i) => [site, big(i + 1, i + 2)]);
    const whole = new InTimeAggregator(SITES);
    for (const [site, shareable] of inputs) whole.arrived(okResult(site, shareable));
    const chunked = new InTimeAggregator(SITES);
    for (const [site, shareable] of inputs) chunked.arrived(await fileResult(site, shareable));
    const [a, b] = await Promise.all([whole.finish([]), chunked.finish([])]);
    expect(b?.sites).toEqual(SITES);
    expect(arraysSha256(b?.records ?? recordDict({}))).toBe(
      arraysSha256(a?.records ?? recordDict({})),
    );
    expect(b?.metrics).toEqual(a?.metrics);
  });

  it("sums in the runtime's order: weight × value in float64, rounded to float32 once per site", async () => {
    // The worked example of core's addScaledFloat32: 2^-22 + 3·(1 + 2^-23) rounds to 3 + 2^-21
    // (Flower-style FedAvg, which rounds 3·x first, gets 3 + 3·2^-22); / 4 is exact.
    const inputs: [string, Shareable][] = [
      ["site-1", model([2 ** -22], { numExamples: 1 })],
      ["site-2", model([1 + 2 ** -23], { numExamples: 3 })],
    ];
    const whole = new InTimeAggregator(["site-1", "site-2"]);
    for (const [site, shareable] of inputs) whole.arrived(okResult(site, shareable));
    const chunked = new InTimeAggregator(["site-1", "site-2"]);
    for (const [site, shareable] of inputs) chunked.arrived(await fileResult(site, shareable));
    for (const aggregate of [await whole.finish([]), await chunked.finish([])])
      expect(aggregate && values({ ...aggregate, kind: "WEIGHTS", meta: {} })).toEqual([
        0.75 + 2 ** -23,
      ]);
  });

  it("weights by numExamples and leaves out a result whose arrays do not match", async () => {
    const aggregator = new InTimeAggregator(SITES);
    aggregator.arrived(okResult("site-1", model([1, 2], { numExamples: 1 })));
    aggregator.arrived(okResult("site-2", model([4, 8], { numExamples: 3 })));
    aggregator.arrived(okResult("site-3", model([1, 2, 3], { numExamples: 5 })));
    const aggregate = await aggregator.finish([]);
    // (1·[1, 2] + 3·[4, 8]) / 4 = [3.25, 6.5]; site-3's three values cannot be added to two.
    expect(aggregate && values({ ...aggregate, kind: "WEIGHTS", meta: {} })).toEqual([3.25, 6.5]);
    expect(aggregate?.rejected.map((r) => r.site)).toEqual(["site-3"]);
  });
});

describe("ScatterAndGather", () => {
  it("averages each round's results and checkpoints every round", async () => {
    const job = createInMemoryJob(SITES, trainingSites({ "site-1": 20 }));
    const state = await runSag(job, 2);
    // Round 1: w + 0.01·(1·10 + 2·20 + 3·30)/60 = w + 0.01·(140/60); round 2 adds twice that.
    const expected = [0.1, 0.2, 0.3].map((w) => w + 0.01 * (140 / 60) * 3);
    for (const [i, v] of values(state.model as Shareable).entries())
      expect(v).toBeCloseTo(expected[i] as number, 6);
    expect(job.checkpoints.map((c) => c.round)).toEqual([1, 2]);
    expect(job.rounds).toEqual([1, 2]);
  });

  it("resumed from round 2's checkpoint, ends with the same final model as an uninterrupted run", async () => {
    const whole = await runSag(createInMemoryJob(SITES, trainingSites()), 5);
    const first = createInMemoryJob(SITES, trainingSites({ "site-2": 5 }));
    await runSag(first, 2);
    const checkpoint = first.checkpoints.at(-1) as { round: number; state: Uint8Array };
    const resumed = createInMemoryJob(SITES, trainingSites({ "site-3": 5 }), {
      resume: checkpoint,
    });
    const state = await runSag(resumed, 5);
    expect(resumed.rounds).toEqual([3, 4, 5]);
    expect(arraysSha256((state.model as Shareable).records)).toBe(
      arraysSha256((whole.model as Shareable).records),
    );
    expect((state.result.scatterAndGather as { rounds: unknown[] }).rounds).toHaveLength(5);
  });
});

describe("Cyclic and CrossSiteEval", () => {
  it("Cyclic passes the model from site to site in name order, round after round", async () => {
    const job = createInMemoryJob(SITES, async (site, _task, data) =>
      model(values(data).map((v) => v * 10 + Number(site.at(-1)))),
    );
    const state: WorkflowState = { result: {} };
    await createCyclic({ numRounds: 2, trainTask: "train", taskTimeout: 0, persistor: "" }).run({
      controller: new Controller(job),
      job,
      state,
      importJobModule: async <T>() => ({ persistor: { load: () => model([0]) } }) as T,
    });
    // Round 1: 0 → 1 → 12 → 123; round 2: 1231 → 12312 → 123123.
    expect(values(state.model as Shareable)).toEqual([123123]);
    expect(job.checkpoints.map((c) => c.round)).toEqual([1, 2]);
  });

  it("CrossSiteEval fills the matrix: every site's model and the global one, evaluated at every site", async () => {
    const job = createInMemoryJob(SITES, async (site, task, data) => {
      const n = Number(site.at(-1));
      if (task === "submit_model") return model([n]);
      // A site's "accuracy" of a model: the model's value + the site's number / 10.
      return createShareable(
        DataKind.METRICS,
        recordDict({ metrics: { m: { acc: (values(data)[0] ?? 0) + n / 10 } } }),
      );
    });
    const state: WorkflowState = { result: {}, model: model([5]) };
    await createCrossSiteEval({
      submitModelTask: "submit_model",
      validateTask: "validate",
      includeServerModel: true,
      taskTimeout: 0,
    }).run({
      controller: new Controller(job),
      job,
      state,
      importJobModule: async <T>() => ({}) as T,
    });
    const matrix = state.result.crossSiteEval as Record<string, Record<string, { acc: number }>>;
    expect(Object.keys(matrix)).toEqual(["site-1", "site-2", "site-3", "server"]);
    expect(matrix["site-2"]?.["site-3"]?.acc).toBeCloseTo(2.3);
    expect(matrix.server?.["site-1"]?.acc).toBeCloseTo(5.1);
  });
});

describe("createWorkflow", () => {
  it("refuses a workflow module or args it cannot use, in one line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-job-"));
    await expect(createWorkflow({ name: "./../outside.ts" }, dir)).rejects.toThrow(
      /^\.\/\.\.\/outside\.ts would lead outside .*: refused$/,
    );
    await expect(
      createWorkflow({ name: "ScatterAndGather", args: { numRounds: 0 } }, dir),
    ).rejects.toThrow(/^workflow ScatterAndGather: numRounds: /);
  });
});
