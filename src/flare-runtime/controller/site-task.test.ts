import { describe, expect, it } from "vitest";
import { f32, shareableOf, valuesOf } from "../filters/test-shareables.ts";
import type { PrivacyPolicy } from "../provision/kit-config.ts";
import { arrayEntries, float32Values } from "../task/records.ts";
import { decodeShareable, encodeShareable, joinPieces } from "../task/shareable-codec.ts";
import { runSiteTask } from "./site-task.ts";

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
  },
};

describe("runSiteTask", () => {
  it("filters a WEIGHTS result as the update from the model the executor received, and logs it", async () => {
    const lines: string[] = [];
    const job = {
      site: "site-1",
      jobId: "job-clip",
      privacy: policy,
      config: {},
      log: (line: string) => void lines.push(line),
    };
    const task = shareableOf("WEIGHTS", { arrays: { w: [1, 2] } });
    const bytes = joinPieces(encodeShareable(task));
    const out = await runSiteTask("train", bytes, job, (data) => {
      // Trains in place: w moves by [3, 4] in the very arrays the task brought.
      const w = arrayEntries(data.records)[0]?.array;
      if (w === undefined) throw new Error("no w");
      float32Values(w).set([4, 6]);
      return data;
    });
    const result = decodeShareable(joinPieces(out), "result");
    // The update [3, 4] (norm 5) clipped to norm 1 is [0.6, 0.8].
    expect(valuesOf(result)).toEqual({
      "arrays/w": f32([1 + Math.fround(0.6), 2 + Math.fround(0.8)]),
    });
    expect(lines).toEqual([
      "filter GaussianPrivacy on the taskResult of task train: applied to the WEIGHTS result as an update (minus the model the task brought)",
    ]);
  });
});
