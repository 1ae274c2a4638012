import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { PrivacyPolicy } from "../provision/kit-config.ts";
import { applyFilters } from "./apply-filters.ts";
import { checkPrivacyPolicy, siteFilterChains } from "./filter-chain.ts";
import { contextOf, f32, shareableOf, valuesOf } from "./test-shareables.ts";

// Clipping to norm 5 then dropping `big`, or dropping `big` then clipping, give different
// updates: the order a chain runs in shows in its output.
const clipTo5 = { name: "GaussianPrivacy", args: { clippingNorm: 5, noiseMultiplier: 0 } };
const dropBig = { name: "ExcludeVars", args: { exclude: ["big"] } };
const update = () => shareableOf("WEIGHT_DIFF", { a: { small: [3, 4], big: [12] } });

const policy: PrivacyPolicy = {
  formatVersion: 1,
  defaultScope: "public",
  scopes: {
    public: { taskDataFilters: [], taskResultFilters: [clipTo5] },
    private: { taskDataFilters: [dropBig], taskResultFilters: [clipTo5, dropBig] },
  },
};

describe("siteFilterChains", () => {
  it("runs the site scope's filters before the job's", async () => {
    const chains = siteFilterChains("site-1", policy, undefined, { taskResult: [dropBig] });
    expect(chains.taskResult.map((f) => f.name)).toEqual(["GaussianPrivacy", "ExcludeVars"]);
    const out = await applyFilters(chains.taskResult, update(), contextOf());
    // Site first: the norm of [3, 4, 12] is 13, so clipping to 5 scales by 5/13, then `big`
    // goes: small = [15/13, 20/13]. (Job first would drop `big`, leaving [3, 4] of norm 5,
    // which clipping keeps.)
    expect(valuesOf(out)).toEqual({ "a/small": f32([15 / 13, 20 / 13]) });
  });

  it("gives the job's own order when the job filters alone", async () => {
    // No site filters on taskData in `public`: the job's clip after its drop keeps [3, 4].
    const chains = siteFilterChains("site-1", policy, "public", { taskData: [dropBig, clipTo5] });
    const out = await applyFilters(chains.taskData, update(), contextOf({ direction: "taskData" }));
    expect(valuesOf(out)).toEqual({ "a/small": [3, 4] });
  });

  it("uses the scope the job names, else the site's default", () => {
    expect(siteFilterChains("site-1", policy, "private").taskData.map((f) => f.name)).toEqual([
      "ExcludeVars",
    ]);
    expect(siteFilterChains("site-1", policy, undefined).taskData).toEqual([]);
  });

  it("refuses a scope the site does not define, naming the site and the scope", () => {
    const refusal = () => siteFilterChains("site-7", policy, "secret");
    expect(refusal).toThrow("site site-7 has no privacy scope 'secret' (it has: public, private)");
    expect(catchError(refusal).code).toBe(Code.FailedPrecondition);
  });

  it("refuses an unknown job filter", () => {
    expect(() =>
      siteFilterChains("site-1", policy, undefined, { taskResult: [{ name: "Nope" }] }),
    ).toThrow(
      /^unknown filter 'Nope' \(known: ExcludeVars, PercentilePrivacy, SVTPrivacy, GaussianPrivacy\)$/,
    );
  });
});

describe("checkPrivacyPolicy", () => {
  it("accepts a policy whose filters are all known and well formed", () => {
    expect(() => checkPrivacyPolicy(policy, "privacy.json")).not.toThrow();
  });

  it("names the file, scope, direction, index and fault of an unknown filter", () => {
    const bad: PrivacyPolicy = {
      ...policy,
      scopes: {
        ...policy.scopes,
        strict: { taskDataFilters: [], taskResultFilters: [clipTo5, { name: "Blur" }] },
      },
    };
    const error = catchError(() => checkPrivacyPolicy(bad, "site-1/local/privacy.json"));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toBe(
      "site-1/local/privacy.json: scopes.strict.taskResultFilters[1]: unknown filter 'Blur' (known: ExcludeVars, PercentilePrivacy, SVTPrivacy, GaussianPrivacy)",
    );
  });

  it("names the file, scope, direction, index, argument and fault of bad arguments", () => {
    const bad: PrivacyPolicy = {
      ...policy,
      scopes: {
        ...policy.scopes,
        public: {
          taskDataFilters: [dropBig, { name: "PercentilePrivacy", args: { percentile: 150 } }],
          taskResultFilters: [],
        },
      },
    };
    expect(() => checkPrivacyPolicy(bad, "privacy.json")).toThrow(
      /^privacy\.json: scopes\.public\.taskDataFilters\[1\]: filter PercentilePrivacy: percentile: .*100/,
    );
  });

  it("refuses a default scope that does not exist", () => {
    expect(() => checkPrivacyPolicy({ ...policy, defaultScope: "open" }, "privacy.json")).toThrow(
      "privacy.json: defaultScope: no scope named 'open'",
    );
  });
});

function catchError(run: () => unknown): FedbridgeError {
  try {
    run();
  } catch (error) {
    return FedbridgeError.from(error);
  }
  throw new Error("expected a refusal");
}
