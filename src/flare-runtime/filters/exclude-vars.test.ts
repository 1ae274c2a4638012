import { describe, expect, it } from "vitest";
import { metricValues } from "../shareable/records.ts";
import { createFilter } from "./filter-registry.ts";
import { contextOf, shareableOf, valuesOf } from "./test-shareables.ts";

const update = () =>
  shareableOf(
    "WEIGHTS",
    {
      encoder: { "conv.weight": [1, 2], "conv.bias": [3], "bn.running_mean": [4] },
      head: { "fc.weight": [5, 6], "fc.bias": [7], "bn.running_var": [8] },
    },
    { stats: { loss: 0.5 } },
  );

describe("ExcludeVars", () => {
  it("drops the listed names from every ArrayRecord, and nothing else", async () => {
    const filter = createFilter({
      name: "ExcludeVars",
      args: { exclude: ["conv.bias", "fc.weight"] },
    });
    const out = await filter.process(update(), contextOf());
    // conv.bias sits in `encoder`, fc.weight in `head`: one goes from each record.
    expect(valuesOf(out)).toEqual({
      "encoder/conv.weight": [1, 2],
      "encoder/bn.running_mean": [4],
      "head/fc.bias": [7],
      "head/bn.running_var": [8],
    });
    expect(metricValues(out.records)).toEqual({ loss: 0.5 });
  });

  it("drops the names a regular expression matches, in any record", async () => {
    const filter = createFilter({ name: "ExcludeVars", args: { exclude: "^bn\\.|\\.bias$" } });
    const out = await filter.process(update(), contextOf());
    // bn.* from both records and *.bias from both: only the weights are left.
    expect(valuesOf(out)).toEqual({ "encoder/conv.weight": [1, 2], "head/fc.weight": [5, 6] });
  });

  it("matches whole names only when given a list", async () => {
    // "conv" is a prefix of conv.weight and conv.bias, but a list entry must equal a name.
    const filter = createFilter({ name: "ExcludeVars", args: { exclude: ["conv"] } });
    const out = await filter.process(update(), contextOf());
    expect(Object.keys(valuesOf(out))).toHaveLength(6);
  });
});
