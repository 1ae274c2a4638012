import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { siteNodeId } from "../src/bridge/site-nodes.ts";
import { killAll } from "./processes.ts";
import { excludeAtSite, startTestRuntime, type TestRuntime } from "./runtime-harness.ts";

// Bridged messages are runtime tasks: a site's privacy filters act on a Flower app's replies
// (real records) before they leave the site, though the app knows nothing of them.

afterAll(killAll);

let runtime: TestRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime(3, 3, {
    // site-2's default scope drops any array named "secret" from its results.
    beforeSitesStart: (kits) => excludeAtSite(kits, "site-2", ["secret"]),
  });
}, 120_000);

describe("a bridged Flower app under the sites' privacy filters", () => {
  it("site-2's ExcludeVars removes 'secret' from its ClientApp's reply; the other sites' replies keep it", async () => {
    const submitted = await runtime.admin(["submit", "test/apps/privacy-probe"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    expect((await runtime.admin(["wait", jobId, "--timeout", "120"])).stdout).toMatch(
      /FINISHED:COMPLETED/,
    );
    const log = await readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");
    const arraysFrom = (site: string) =>
      new RegExp(`reply from node ${siteNodeId(site)}: arrays (\\S*)`).exec(log)?.[1];
    expect(arraysFrom("site-1")).toBe("w,secret");
    expect(arraysFrom("site-2")).toBe("w");
    expect(arraysFrom("site-3")).toBe("w,secret");
  });
});
