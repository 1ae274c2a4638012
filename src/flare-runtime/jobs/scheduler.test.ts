import { describe, expect, it } from "vitest";
import { parseJobMeta } from "./job-meta.ts";
import { type SiteState, schedule } from "./scheduler.ts";

const site = (name: string, overrides: Partial<SiteState> = {}): SiteState => ({
  name,
  online: true,
  resources: { gpus: 0, memoryGb: 8, maxJobs: 4 },
  runningJobs: [],
  ...overrides,
});
const meta = (fields: Record<string, unknown> = {}) =>
  parseJobMeta({ name: "j", app: "sum", ...fields });

describe("schedule", () => {
  it("runs an @ALL job at every online site, in name order", () => {
    const sites = [site("site-2"), site("site-1"), site("site-3", { online: false })];
    expect(schedule(meta(), sites)).toEqual({
      ok: true,
      sites: [
        { name: "site-1", gpus: 0, memoryGb: 0 },
        { name: "site-2", gpus: 0, memoryGb: 0 },
      ],
    });
  });

  it("needs minSites targets that can take the job, and says why the others cannot", () => {
    const sites = [site("site-1"), site("site-2", { online: false })];
    expect(schedule(meta({ minSites: 2 }), sites)).toEqual({
      ok: false,
      reason: "needs 2 site(s), 1 can take it: site-2 is offline",
    });
    expect(schedule(meta(), [])).toEqual({
      ok: false,
      reason: "needs 1 site(s); no site is known yet",
    });
    const listed = meta({ deployMap: ["site-1", "site-9"], minSites: 2 });
    expect(schedule(listed, sites)).toMatchObject({ reason: /site-9 is not a known site/ });
  });

  it("deploys only to the deploy map's sites", () => {
    const sites = [site("site-1"), site("site-2"), site("site-3")];
    const result = schedule(meta({ deployMap: ["site-3", "site-1"] }), sites);
    expect(result.ok && result.sites.map((s) => s.name)).toEqual(["site-1", "site-3"]);
  });

  it("requires every mandatory site", () => {
    const sites = [site("site-1"), site("site-2", { online: false }), site("site-3")];
    expect(schedule(meta({ mandatorySites: ["site-2"] }), sites)).toEqual({
      ok: false,
      reason: "mandatory site site-2 is offline",
    });
    expect(schedule(meta({ mandatorySites: ["site-7"] }), sites)).toEqual({
      ok: false,
      reason: "mandatory site site-7 is not a known site",
    });
    expect(schedule(meta({ mandatorySites: ["site-3"] }), sites).ok).toBe(true);
  });

  it("counts GPUs and memory against the jobs already running at a site", () => {
    const gpuSite = site("gpu", {
      resources: { gpus: 2, memoryGb: 16, maxJobs: 4 },
      runningJobs: [{ jobId: "a", gpus: 1, memoryGb: 4 }],
    });
    const cpuSite = site("cpu");
    const spec = { "@ALL": { memoryGb: 2 }, gpu: { gpus: 1, memoryGb: 8 } };
    expect(schedule(meta({ resourceSpec: spec, minSites: 2 }), [gpuSite, cpuSite])).toEqual({
      ok: true,
      sites: [
        { name: "cpu", gpus: 0, memoryGb: 2 },
        { name: "gpu", gpus: 1, memoryGb: 8 },
      ],
    });
    const two = { gpu: { gpus: 2 } };
    expect(schedule(meta({ deployMap: ["gpu"], resourceSpec: two }), [gpuSite])).toEqual({
      ok: false,
      reason: "needs 1 site(s), 0 can take it: gpu has 1 of the 2 GPU(s) needed free",
    });
    const memory = { gpu: { memoryGb: 13 } };
    expect(schedule(meta({ deployMap: ["gpu"], resourceSpec: memory }), [gpuSite])).toMatchObject({
      reason: /gpu has 12 of the 13 GB of memory needed free/,
    });
    // A site without its own entry gets @ALL's: cpu has no GPU for this one.
    const allGpu = { "@ALL": { gpus: 1 } };
    const result = schedule(meta({ resourceSpec: allGpu }), [gpuSite, cpuSite]);
    expect(result.ok && result.sites.map((s) => s.name)).toEqual(["gpu"]);
  });

  it("respects maxJobs", () => {
    const busy = site("site-1", {
      resources: { gpus: 0, memoryGb: 8, maxJobs: 1 },
      runningJobs: [{ jobId: "a", gpus: 0, memoryGb: 0 }],
    });
    expect(schedule(meta(), [busy])).toEqual({
      ok: false,
      reason: "needs 1 site(s), 0 can take it: site-1 already runs 1 of its 1 job(s)",
    });
  });
});
