import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll } from "./processes.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";
import { quickstartWith } from "./test-apps.ts";

// Failures of bridged runs: a site killed mid-round, a throwing ClientApp, a throwing
// ServerApp, and a folder that is neither a job nor an app. 4 sites on loopback.

afterAll(killAll);

let runtime: TestRuntime;
const jobIdOf = (stdout: string) => stdout.trim().split("\n").at(-1) as string;

beforeAll(async () => {
  runtime = await startTestRuntime(4);
}, 120_000);

describe("bridged runs when things fail", () => {
  it("4 sites, minTrainNodes 3: a site parent SIGKILLed in round 2, the run completes", async () => {
    const app = await quickstartWith("slow-quickstart");
    const jobId = jobIdOf((await runtime.admin(["submit", app])).stdout);
    const log = join(runtime.kits, "server1", "jobs", jobId, "log.txt");
    const deadline = Date.now() + 120_000;
    while (!/\[ROUND 2\/4\]/.test(await readFile(log, "utf8").catch(() => ""))) {
      if (Date.now() > deadline) throw new Error("round 2 never started");
      await sleep(100);
    }
    runtime.sites.get("site-4")?.child.kill("SIGKILL");
    const waited = await runtime.admin(["wait", jobId, "--timeout", "120"]);
    expect(waited.stdout).toMatch(/FINISHED:COMPLETED/);
    expect(await readFile(log, "utf8")).toMatch(/NODE_UNAVAILABLE: .*site-4/);
    runtime.startSite("site-4");
  });

  it("a ClientApp that throws at one site gives an error reply there; the run goes on", async () => {
    const flaky = `import { ClientApp } from "fedbridge";
import { app as quickstart } from "./client.ts";
export const app = new ClientApp({ mods: [(msg, context, next) => {
  if (context.nodeConfig["partition-id"] === 1 && msg.metadata.messageType === "train") throw new RangeError("site 2 has no data today");
  return next(msg, context);
}] }).train((m, c) => quickstart.call(m, c)).evaluate((m, c) => quickstart.call(m, c));
`;
    const app = await quickstartWith("slow-quickstart", { "slow-client.ts": flaky });
    const jobId = jobIdOf(
      (await runtime.admin(["submit", app, "--run-config", "num-server-rounds=2"])).stdout,
    );
    expect((await runtime.admin(["wait", jobId, "--timeout", "120"])).stdout).toMatch(
      /FINISHED:COMPLETED/,
    );
    const log = await readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");
    expect(log).toMatch(/CLIENT_APP_RAISED_EXCEPTION: site 2 has no data today/);
  });

  it("an app whose ServerApp throws ends FINISHED:FAILED with the app's message", async () => {
    const app = await quickstartWith("slow-quickstart", {
      "slow-server.ts": `import { ServerApp } from "fedbridge";\nexport const app = new ServerApp().main(() => { throw new Error("no model to start from"); });\n`,
    });
    const jobId = jobIdOf((await runtime.admin(["submit", app])).stdout);
    await runtime.admin(["wait", jobId, "--timeout", "60"]);
    const status = JSON.parse((await runtime.admin(["status", jobId, "--json"])).stdout);
    expect(status.status).toBe("FINISHED:FAILED");
    expect(status.reason).toMatch(/no model to start from/);
  });

  it("a folder that is neither a job nor an app is refused at submit with one clear line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-neither-"));
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "README.md"), "hello");
    const refused = await runtime.admin(["submit", dir]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/meta\.json/);
  });
});
