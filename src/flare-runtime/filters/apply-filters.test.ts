import { describe, expect, it } from "vitest";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { arrayEntries, metricValues } from "../shareable/records.ts";
import type { Shareable } from "../shareable/shareable.ts";
import { type ApplyFiltersOptions, applyFilters } from "./apply-filters.ts";
import type { Filter } from "./filter.ts";
import { createFilter } from "./filter-registry.ts";
import { contextOf, f32, flatValues, shareableOf, valuesOf } from "./test-shareables.ts";
import { receivedModel } from "./update-view.ts";

// The model a task brought, and a site's WEIGHTS result: w moved by [3, 4] (norm 5), b not
// at all, and w[0] = 1e-8, whose update (1e-8 − 1 = -1 in float32) added back would be 0.
const model = () => shareableOf("WEIGHTS", { arrays: { w: [1, 2, 1], b: [0.5] } });
const result = () =>
  shareableOf("WEIGHTS", { arrays: { w: [4, 6, 1e-8], b: [0.5] } }, { metrics: { loss: 0.5 } });

const gaussian = (args: object) => createFilter({ name: "GaussianPrivacy", args });
const exclude = (names: string[]) =>
  createFilter({ name: "ExcludeVars", args: { exclude: names } });

/** Runs `filters` on a result of the model's task; with the lines they logged. */
async function filterResult(filters: Filter[], shareable = result(), received = model()) {
  const lines: string[] = [];
  const options: ApplyFiltersOptions = {
    received: receivedModel(received),
    log: (line) => lines.push(line),
  };
  return { out: await applyFilters(filters, shareable, contextOf(), options), lines };
}

/** Each array's NPY bytes, keyed "record/name". */
const bytesOf = (shareable: Shareable) =>
  Object.fromEntries(
    arrayEntries(shareable.records).map((e) => [`${e.record}/${e.name}`, [...e.array.data]]),
  );

describe("applyFilters on a WEIGHTS result", () => {
  it("shows it as an update to a filter of WEIGHT_DIFF only: a huge noise changes the weights", async () => {
    const { out, lines } = await filterResult([
      gaussian({ clippingNorm: 1, noiseMultiplier: 1e3 }),
    ]);
    expect(out.kind).toBe("WEIGHTS");
    const moved = flatValues(out).map((v, i) => Math.abs(v - (flatValues(result())[i] as number)));
    expect(Math.min(...moved)).toBeGreaterThan(0);
    expect(Math.max(...moved)).toBeGreaterThan(10);
    expect(metricValues(out.records)).toEqual({ loss: 0.5 });
    expect(lines).toEqual([
      "filter GaussianPrivacy on the taskResult of task train (round 1): applied to the WEIGHTS result as an update (minus the model the task brought)",
    ]);
  });

  it("adds the filtered update back to the model: clipping [3, 4, -1] to norm 1", async () => {
    const { out } = await filterResult([gaussian({ clippingNorm: 1, noiseMultiplier: 0 })]);
    const [dx, dy, dz] = f32([3, 4, -1]).map((d) => Math.fround(d * (1 / Math.sqrt(26))));
    expect(valuesOf(out)).toEqual({ "arrays/w": f32([1 + dx, 2 + dy, 1 + dz]), "arrays/b": [0.5] });
  });

  it("keeps the result byte for byte when the filters change nothing", async () => {
    const before = bytesOf(result());
    // No filter; a filter of any kind that drops nothing; a clip that does not bind.
    for (const filters of [
      [],
      [exclude(["secret"])],
      [gaussian({ clippingNorm: 1e6, noiseMultiplier: 0 })],
    ]) {
      const { out } = await filterResult(filters);
      expect(bytesOf(out)).toEqual(before);
      expect(valuesOf(out)["arrays/w"]).toEqual(f32([4, 6, 1e-8]));
    }
  });

  it("shows the weights to a filter of WEIGHTS, and to one of any kind, as they are", async () => {
    const { out, lines } = await filterResult([
      exclude(["b"]),
      gaussian({ clippingNorm: 1, noiseMultiplier: 0, dataKinds: ["WEIGHTS"] }),
    ]);
    // [4, 6, 1e-8] clipped to norm 1 itself, not its update.
    const scale = 1 / Math.sqrt(52);
    expect(valuesOf(out)["arrays/w"]).toEqual(f32(f32([4, 6, 1e-8]).map((v) => v * scale)));
    expect(lines.map((line) => line.split(": ").slice(1).join(": "))).toEqual([
      "applied (WEIGHTS; it takes any kind)",
      "applied (WEIGHTS)",
    ]);
  });

  it("passes a metrics-only result unchanged, and says the filter skipped it", async () => {
    const metrics = shareableOf("METRICS", {}, { metrics: { accuracy: 0.9 } });
    const { out, lines } = await filterResult(
      [gaussian({ clippingNorm: 1, noiseMultiplier: 1e3 })],
      metrics,
    );
    expect(out).toBe(metrics);
    expect(metricValues(out.records)).toEqual({ accuracy: 0.9 });
    expect(lines[0]).toMatch(/: skipped: it changes WEIGHT_DIFF, this is METRICS$/);
  });

  it("says so when the task brought no model to take an update from", async () => {
    const noModel = shareableOf("METRICS", {}, { config: { lr: 0.1 } });
    const { out, lines } = await filterResult(
      [gaussian({ clippingNorm: 1, noiseMultiplier: 1e3 })],
      result(),
      noModel,
    );
    expect(bytesOf(out)).toEqual(bytesOf(result()));
    expect(lines[0]).toMatch(
      /: skipped: it changes WEIGHT_DIFF, this is WEIGHTS, and its task brought no model to take an update from$/,
    );
  });
});

describe("applyFilters", () => {
  it("names the filter, direction and task of a failure", async () => {
    const failing: Filter = {
      name: "Broken",
      process() {
        throw new Error("no arrays");
      },
    };
    const error = await applyFilters([failing], result(), contextOf()).catch((e: unknown) =>
      FedbridgeError.from(e),
    );
    expect(error).toBeInstanceOf(FedbridgeError);
    expect((error as FedbridgeError).message).toBe(
      "filter Broken (taskResult of task train) failed: no arrays",
    );
  });
});
