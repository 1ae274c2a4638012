import { cp, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/core/free-port.ts";
import { type FedbridgeProcess, killAll, startFedbridge } from "./processes.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";
import { quickstartWith } from "./test-apps.ts";

// Runtime jobs that go wrong say so. Four project sites: site-1 and site-2 are site parents
// (with node configs of their own), site-3 is a bridge with no SuperNode, site-4 never starts.

afterAll(killAll);

let runtime: TestRuntime;
let bridge: FedbridgeProcess;
const jobIdOf = (stdout: string) => stdout.trim().split("\n").at(-1) as string;
const jobLog = (jobId: string) =>
  readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");

beforeAll(async () => {
  runtime = await startTestRuntime(2, 4, {
    beforeSitesStart: async (kits) => {
      const nodeConfig = (site: string, config: object) =>
        writeFile(
          join(kits, site, "node-config.json"),
          JSON.stringify({ formatVersion: 1, nodeConfig: config }),
        );
      await nodeConfig("site-1", { "data-path": "/data/one" });
      await nodeConfig("site-2", { "partition-id": 7 });
    },
  });
  bridge = startFedbridge([
    "bridge",
    "--kit",
    join(runtime.kits, "site-3"),
    "--fleet-api-address",
    `127.0.0.1:${await freePort()}`,
    "--node-grace",
    "2",
  ]);
  await bridge.waitFor(/connected to server1/);
}, 120_000);

describe("runtime jobs that cannot go as planned", () => {
  it("gives each site its node config; a bridge without a SuperNode answers NODE_UNAVAILABLE and says so", async () => {
    const app = await mkdtemp(join(tmpdir(), "fedbridge-probe-"));
    await cp("test/apps/node-config-probe", app, { recursive: true });
    const jobId = jobIdOf((await runtime.admin(["submit", app])).stdout);
    expect((await runtime.admin(["wait", jobId, "--timeout", "120"])).code).toBe(0);
    const log = await jobLog(jobId);
    expect(log).toMatch(
      /node config of site-1: \{"partition-id":0,"num-partitions":3,"data-path":"\/data\/one"\}/,
    );
    expect(log).toMatch(/node config of site-2: \{"partition-id":7,"num-partitions":3\}/);
    expect(log).toMatch(
      /node config of site-3: NODE_UNAVAILABLE: no SuperNode is connected to site-3's bridge/,
    );
    expect(bridge.output()).toMatch(/no SuperNode connected/);
    expect(bridge.output()).toMatch(/SuperNodes use their own --node-config/);

    // A download never writes through a symlink planted in its folder.
    const [out, elsewhere] = await Promise.all(
      ["out", "elsewhere"].map((n) => mkdtemp(join(tmpdir(), `fedbridge-${n}-`))),
    );
    await writeFile(join(elsewhere, "victim"), "untouched");
    await symlink(join(elsewhere, "victim"), join(out, "log.txt"));
    const download = await runtime.admin(["download", jobId, "-o", out]);
    expect(download.code).not.toBe(0);
    expect(download.stderr).toMatch(/log\.txt .*is a symlink: nothing is written through it/);
    expect(await readFile(join(elsewhere, "victim"), "utf8")).toBe("untouched");
  });

  it("fails a job whose ClientApp cannot load at its sites, with the reason in status and wait's exit code", async () => {
    const app = await quickstartWith("flaky", {
      "package.json": await readFile("examples/quickstart/package.json", "utf8"),
      "client.ts": "export const notTheApp = 1;\n",
    });
    const jobId = jobIdOf((await runtime.admin(["submit", app])).stdout);
    const waited = await runtime.admin(["wait", jobId, "--timeout", "120"]);
    expect(waited.code).not.toBe(0);
    const status = JSON.parse((await runtime.admin(["status", jobId, "--json"])).stdout);
    expect(status.status).toBe("FINISHED:FAILED");
    expect(status.reason).toMatch(
      /the ClientApp cannot run at site-[12]: LOAD_CLIENT_APP_EXCEPTION: .*no export named `app`/,
    );
  });

  it("stops a site's ClientApp handler at its message's TTL and answers with an error", async () => {
    const stuck = await quickstartWith("stuck");
    const jobId = jobIdOf(
      (await runtime.admin(["submit", stuck, "--run-config", "ttl=20"])).stdout,
    );
    expect((await runtime.admin(["wait", jobId, "--timeout", "180"])).code).toBe(0);
    // Each site running the ClientApp stopped it and answered; the answer reaches the server
    // as that error, or, on a machine too loaded to carry it back within the TTL, as none.
    for (const site of ["site-1", "site-2"])
      expect(runtime.sites.get(site)?.output()).toMatch(
        new RegExp(
          `the ClientApp's reply is an error: CLIENT_APP_CRASHED: the ClientApp did not reply within the message's TTL \\(20 s\\).*job=${jobId}`,
        ),
      );
    const replies = (await jobLog(jobId)).match(/reply from node \d+: [A-Z_]+/g) ?? [];
    expect(replies).toHaveLength(3);
    expect(replies.every((r) => !r.endsWith(": ok"))).toBe(true);
  });

  it("shows which sites a job that cannot be scheduled waits for", async () => {
    const job = await mkdtemp(join(tmpdir(), "fedbridge-waiting-"));
    await cp("test/jobs/sag", job, { recursive: true });
    const meta = JSON.parse(await readFile(join(job, "meta.json"), "utf8"));
    await writeFile(
      join(job, "meta.json"),
      JSON.stringify({ ...meta, deployMap: ["site-1", "site-4"], minSites: 2 }),
    );
    const jobId = jobIdOf((await runtime.admin(["submit", job])).stdout);
    const status = JSON.parse((await runtime.admin(["status", jobId, "--json"])).stdout);
    expect(status.status).toBe("SUBMITTED");
    expect(status.reason).toMatch(/waiting for sites: .*site-4 is offline/);
    expect((await runtime.admin(["list"])).stdout).toMatch(/SUBMITTED .*site-4 is offline/);
    expect((await runtime.admin(["abort", jobId])).code).toBe(0);
  });
});
