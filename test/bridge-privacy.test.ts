import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { siteNodeId } from "../src/bridge/site-nodes.ts";
import { killAll } from "./processes.ts";
import { editPrivacy, startTestRuntime, type TestRuntime } from "./runtime-harness.ts";

// Bridged messages are runtime tasks: a site's privacy filters act on a Flower app's replies
// (real records) before they leave the site, though the app knows nothing of them. A Flower
// reply is WEIGHTS, and the privacy filters change WEIGHT_DIFF by default: they see the reply
// as an update against the model its message brought, rather than letting it pass.

afterAll(killAll);

let runtime: TestRuntime;

const SITES = ["site-1", "site-2", "site-3"];
/** Noise of std 100 on an update clipped to norm 1: no reply leaves a site as it was. */
const noise = { name: "GaussianPrivacy", args: { clippingNorm: 1, noiseMultiplier: 100 } };

beforeAll(async () => {
  runtime = await startTestRuntime(3, 3, {
    // Every site's default scope, `noised`, noises its results (site-2 first drops any array
    // named "secret"); `public`, which a job may name, has no filters.
    beforeSitesStart: async (kits) => {
      for (const site of SITES)
        await editPrivacy(kits, site, (policy) => {
          const drop = { name: "ExcludeVars", args: { exclude: ["secret"] } };
          const filters = site === "site-2" ? [drop, noise] : [noise];
          policy.scopes.noised = { taskDataFilters: [], taskResultFilters: filters };
          policy.defaultScope = "noised";
        });
    },
  });
}, 120_000);

/** Submits `app` with `runConfig`, waits for it to complete; its id. */
async function complete(app: string, runConfig?: string): Promise<string> {
  const flags = runConfig === undefined ? [] : ["--run-config", runConfig];
  const submitted = await runtime.admin(["submit", app, ...flags]);
  expect(submitted.code, submitted.stderr).toBe(0);
  const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
  expect((await runtime.admin(["wait", jobId, "--timeout", "120"])).stdout).toMatch(
    /FINISHED:COMPLETED/,
  );
  return jobId;
}

const serverLog = (jobId: string) =>
  readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");

describe("a bridged Flower app under the sites' privacy filters", () => {
  it("each site's GaussianPrivacy noises its reply; site-2's ExcludeVars removes 'secret' from it", async () => {
    const log = await serverLog(await complete("test/apps/privacy-probe"));
    const replyFrom = (site: string) => {
      const line = new RegExp(`reply from node ${siteNodeId(site)}: arrays (\\S*) w (\\S*)`);
      const [, names, w] = line.exec(log) ?? [];
      return { names, w: JSON.parse(w ?? "null") as number[] };
    };
    expect(replyFrom("site-1").names).toBe("w,secret");
    expect(replyFrom("site-2").names).toBe("w");
    expect(replyFrom("site-3").names).toBe("w,secret");
    // Each ClientApp replied w = [1.5, 2.5]; what reached the server was noised.
    for (const site of SITES) {
      const { w } = replyFrom(site);
      expect(w).toHaveLength(2);
      expect(w).not.toEqual([1.5, 2.5]);
    }
  });

  it("examples/quickstart: the noise changes the final model; each site logs what its filter did", async () => {
    const rounds = "num-server-rounds=2";
    const noised = await complete("examples/quickstart", rounds);
    const plain = await complete("examples/quickstart", `${rounds} privacyScope="public"`);
    const sha = async (jobId: string) => {
      const out = join(runtime.root, "download", jobId);
      expect((await runtime.admin(["download", jobId, "-o", out])).code).toBe(0);
      return JSON.parse(await readFile(join(out, "result.json"), "utf8")).finalArraysSha256;
    };
    const [noisedSha, plainSha] = [await sha(noised), await sha(plain)];
    expect(noisedSha).toMatch(/^[0-9a-f]{64}$/);
    expect(noisedSha).not.toBe(plainSha);
    for (const site of SITES) {
      const output = runtime.sites.get(site)?.output() ?? "";
      // Train replies (WEIGHTS) are noised as updates; evaluate replies carry metrics only.
      expect(output).toContain(
        "filter GaussianPrivacy on the taskResult of task flower-message (round 2): applied to the WEIGHTS result as an update",
      );
      expect(output).toContain(
        "filter GaussianPrivacy on the taskResult of task flower-message (round 2): skipped: it changes WEIGHT_DIFF, this is METRICS",
      );
    }
  });
});
