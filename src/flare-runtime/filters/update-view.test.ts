import { describe, expect, it } from "vitest";
import { encodeNpy } from "../../core/numeric/npy.ts";
import type { Array as ProtoArray } from "../../gen/flwr/proto/recorddict_pb.ts";
import { arrayEntries, float32Values, metricValues } from "../shareable/records.ts";
import type { Shareable } from "../shareable/shareable.ts";
import { createFilter } from "./filter-registry.ts";
import { f32, shareableOf, valuesOf } from "./test-shareables.ts";
import { receivedModel, seesUpdate, updateView } from "./update-view.ts";

const model = () => shareableOf("WEIGHTS", { arrays: { w: [1, 2], b: [0.5] } });
const received = () => receivedModel(model()) as NonNullable<ReturnType<typeof receivedModel>>;

/** The array `name` of a shareable's records. */
const arrayNamed = (shareable: Shareable, name: string): ProtoArray => {
  const entry = arrayEntries(shareable.records).find((e) => e.name === name);
  if (entry === undefined) throw new Error(`no array ${name}`);
  return entry.array;
};

/** Each array's NPY bytes, keyed "record/name". */
const bytesOf = (records: Parameters<typeof arrayEntries>[0]) =>
  Object.fromEntries(arrayEntries(records).map((e) => [`${e.record}/${e.name}`, e.array.data]));

describe("seesUpdate", () => {
  it("is true for a filter of WEIGHT_DIFF only", () => {
    const gaussian = (dataKinds?: string[]) =>
      createFilter({
        name: "GaussianPrivacy",
        args: { clippingNorm: 1, noiseMultiplier: 1, ...(dataKinds ? { dataKinds } : {}) },
      });
    expect(seesUpdate(gaussian())).toBe(true);
    expect(seesUpdate(gaussian(["WEIGHTS"]))).toBe(false);
    expect(seesUpdate(gaussian(["WEIGHT_DIFF", "WEIGHTS"]))).toBe(false);
    expect(seesUpdate(createFilter({ name: "ExcludeVars", args: { exclude: ["x"] } }))).toBe(false);
  });
});

describe("receivedModel", () => {
  it("is undefined for a task that brought no float32 array", () => {
    expect(receivedModel(shareableOf("METRICS", {}, { config: { lr: 0.1 } }))).toBeUndefined();
  });

  it("copies the values, so an executor writing into its task cannot change them", () => {
    const task = model();
    const base = receivedModel(task);
    float32Values(arrayNamed(task, "w")).fill(9);
    expect([...(base?.get(JSON.stringify(["arrays", "w"]))?.values ?? [])]).toEqual([1, 2]);
  });
});

describe("updateView", () => {
  it("shows each array with a counterpart as result − received, the others as they are", () => {
    const result = shareableOf(
      "WEIGHTS",
      { arrays: { w: [1.5, 1], b: [0.5, 0.5], extra: [7] } },
      { metrics: { loss: 0.25 } },
    );
    const { update } = updateView(result, received());
    expect(update.kind).toBe("WEIGHT_DIFF");
    // b's shape changed ([1] received, [2] now): no counterpart, as is; so is the new `extra`.
    expect(valuesOf(update)).toEqual({
      "arrays/w": [0.5, -1],
      "arrays/b": [0.5, 0.5],
      "arrays/extra": [7],
    });
    expect(metricValues(update.records)).toEqual({ loss: 0.25 });
    // The result itself is untouched.
    expect(valuesOf(result)["arrays/w"]).toEqual([1.5, 1]);
  });

  it("keeps the result's own bytes where the update comes back unchanged", () => {
    // 1e-8 − 1 is -1 in float32, and -1 + 1 is 0: adding back would lose the value.
    const result = shareableOf("WEIGHTS", { arrays: { w: [1e-8, 2], b: [0.5] } });
    const before = bytesOf(result.records);
    const view = updateView(result, received());
    expect(valuesOf(view.update)["arrays/w"]).toEqual([-1, 0]);
    const out = view.rebuild(view.update);
    expect(out.kind).toBe("WEIGHTS");
    expect(bytesOf(out.records)).toEqual(before);
    expect(valuesOf(out)["arrays/w"]).toEqual(f32([1e-8, 2]));
  });

  it("adds a changed update back to the received model", () => {
    const result = shareableOf("WEIGHTS", { arrays: { w: [3, 4], b: [0.5] } });
    const view = updateView(result, received());
    arrayNamed(view.update, "w").data = encodeNpy("float32", [2], Float32Array.of(0.25, -0.5));
    const out = view.rebuild(view.update);
    expect(valuesOf(out)).toEqual({ "arrays/w": [1.25, 1.5], "arrays/b": [0.5] });
  });

  it("sees a filter that writes into an update's bytes in place", () => {
    const result = shareableOf("WEIGHTS", { arrays: { w: [3, 4], b: [0.5] } });
    const view = updateView(result, received());
    float32Values(arrayNamed(view.update, "w")).fill(0);
    expect(valuesOf(view.rebuild(view.update))["arrays/w"]).toEqual([1, 2]);
  });

  it("refuses an update whose array no longer fits the received model", () => {
    const result = shareableOf("WEIGHTS", { arrays: { w: [3, 4], b: [0.5] } });
    const view = updateView(result, received());
    arrayNamed(view.update, "w").data = encodeNpy("float32", [3], Float32Array.of(1, 2, 3));
    expect(() => view.rebuild(view.update)).toThrow(
      "the update of array arrays/w is no longer float32 of 2 values: it cannot be added back to the received model",
    );
  });
});
