import { describe, expect, it } from "vitest";
import { f32, shareableOf, valuesOf } from "../filters/test-shareables.ts";
import type { PrivacyPolicy } from "../provision/kit-config.ts";
import { arrayEntries, float32Values } from "../shareable/records.ts";
import type { Shareable } from "../shareable/shareable.ts";
import { decodeShareable, encodeShareable, joinPieces } from "../shareable/shareable-codec.ts";
import { createSiteTasks, type SiteTasks } from "./site-task.ts";

/** A site whose default scope clips each result's update to norm 1 (no noise). */
const policy: PrivacyPolicy = {
  formatVersion: 1,
  defaultScope: "clip",
  scopes: {
    clip: {
      taskDataFilters: [],
      taskResultFilters: [
        { name: "GaussianPrivacy", args: { clippingNorm: 1, noiseMultiplier: 0 } },
      ],
    },
    open: { taskDataFilters: [], taskResultFilters: [] },
  },
};

/** Trains in place: w moves by [3, 4] in the very arrays the task brought. */
const train = (data: Shareable) => {
  const w = arrayEntries(data.records)[0]?.array;
  if (w === undefined) throw new Error("no w");
  float32Values(w).set([4, 6]);
  return data;
};
const task = () => joinPieces(encodeShareable(shareableOf("WEIGHTS", { arrays: { w: [1, 2] } })));
const job = (jobId: string, config: Record<string, unknown>, lines: string[] = []) => ({
  site: "site-1",
  jobId,
  privacy: policy,
  config,
  log: (line: string) => void lines.push(line),
});

describe("createSiteTasks", () => {
  it("filters a WEIGHTS result as the update from the model the executor received, and logs it", async () => {
    const lines: string[] = [];
    const out = await createSiteTasks(job("job-clip", {}, lines)).run(
      "train",
      task(),
      undefined,
      train,
    );
    const result = decodeShareable(joinPieces(out), "result");
    // The update [3, 4] (norm 5) clipped to norm 1 is [0.6, 0.8].
    expect(valuesOf(result)).toEqual({
      "arrays/w": f32([1 + Math.fround(0.6), 2 + Math.fround(0.8)]),
    });
    expect(lines).toEqual([
      "filter GaussianPrivacy on the taskResult of task train: applied to the WEIGHTS result as an update (minus the model the task brought)",
    ]);
  });

  it("keeps each job's filters to its own tasks when one process serves jobs in turn (a shim)", async () => {
    const clipped = createSiteTasks(job("job-a", {}));
    const open = createSiteTasks(job("job-b", { privacyScope: "open" }));
    const run = async (tasks: SiteTasks) =>
      valuesOf(
        decodeShareable(joinPieces(await tasks.run("train", task(), undefined, train)), "result"),
      );
    expect(await run(open)).toEqual({ "arrays/w": f32([4, 6]) });
    expect(await run(clipped)).toEqual({
      "arrays/w": f32([1 + Math.fround(0.6), 2 + Math.fround(0.8)]),
    });
    expect(await run(open)).toEqual({ "arrays/w": f32([4, 6]) });
  });
});
