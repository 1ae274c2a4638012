import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll } from "./processes.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";

// The runtime end to end: provisioned kits, a server parent and three site parents as real
// processes on loopback, and the admin CLI.

afterAll(killAll);

let runtime: TestRuntime;
let root: string;
let kits: string;
const admin = (...args: string[]) => runtime.admin(args);
const member = (...args: string[]) => runtime.admin(args, "member@org-b.com");

async function jobFolder(name: string, meta: unknown): Promise<string> {
  const dir = join(root, "jobs", name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "meta.json"), JSON.stringify(meta));
  return dir;
}

const siteList = async () =>
  JSON.parse((await admin("sites", "--json")).stdout) as { name: string; online: boolean }[];

/** Probes until `ok`, or `timeoutMs` has passed (generous: each probe may start the CLI). */
async function waitFor<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  runtime = await startTestRuntime(3);
  ({ root, kits } = runtime);
}, 120_000);

describe("the runtime (server, 3 sites, admin CLI)", () => {
  it("shows 3 sites online, runs a submitted job to FINISHED:COMPLETED and downloads result.json", async () => {
    const online = await waitFor(siteList, (list) => list.filter((s) => s.online).length === 3);
    expect(online.map((s) => [s.name, s.online])).toEqual([
      ["site-1", true],
      ["site-2", true],
      ["site-3", true],
    ]);
    const submitted = await admin(
      "submit",
      await jobFolder("sum", { name: "sum-demo", app: "sum", config: { value: 3, rounds: 2 } }),
    );
    expect(submitted.code).toBe(0);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    const waited = await admin("wait", jobId, "--timeout", "120");
    expect(waited.stdout).toMatch(/FINISHED:COMPLETED/);
    expect(waited.code).toBe(0);
    const status = JSON.parse((await admin("status", jobId, "--json")).stdout);
    expect(status).toMatchObject({ id: jobId, status: "FINISHED:COMPLETED", round: 2 });
    const out = join(root, "download");
    expect((await admin("download", jobId, "-o", out)).code).toBe(0);
    // 3 × (1 + 2 + 3) in each of the 2 rounds.
    expect(JSON.parse(await readFile(join(out, "result.json"), "utf8"))).toEqual({
      sums: [18, 18],
      sites: ["site-1", "site-2", "site-3"],
    });
  });

  it("refuses a member's abort of another's job, and audits it", async () => {
    const submitted = await admin(
      "submit",
      await jobFolder("slow", { name: "slow", app: "sum", config: { rounds: 100, delayMs: 100 } }),
    );
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    const refused = await member("abort", jobId);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/member@org-b.com .* may not manage_job/);
    const audit = (await readFile(join(kits, "server1", "audit.log"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(audit.at(-1)).toMatchObject({
      who: { name: "member@org-b.com", role: "member" },
      command: "abort",
      args: jobId,
      outcome: "denied",
    });
    const aborted = await admin("abort", jobId);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect((await admin("wait", jobId, "--timeout", "120")).stdout).toMatch(/FINISHED:ABORTED/);
  });

  it("a SIGKILLed job process fails its job with a reason; the server and another job carry on", async () => {
    const victim = (
      await admin(
        "submit",
        await jobFolder("victim", {
          name: "victim",
          app: "sum",
          config: { rounds: 100, delayMs: 100 },
        }),
      )
    ).stdout
      .trim()
      .split("\n")
      .at(-1) as string;
    const other = (
      await admin(
        "submit",
        await jobFolder("other", {
          name: "other",
          app: "sum",
          config: { rounds: 15, delayMs: 100 },
        }),
      )
    ).stdout
      .trim()
      .split("\n")
      .at(-1) as string;
    // The server's job log names the job process once it has started.
    const logFile = join(kits, "server1", "jobs", victim, "log.txt");
    const log = await waitFor(
      () => readFile(logFile, "utf8").catch(() => ""),
      (text) => /job process \d+ started/.test(text),
    );
    const jobPid = Number(/job process (\d+) started/.exec(log)?.[1]);
    expect(jobPid).toBeGreaterThan(0);
    process.kill(jobPid, "SIGKILL");
    expect((await admin("wait", victim, "--timeout", "120")).stdout).toMatch(
      /FINISHED:FAILED.*killed by SIGKILL/,
    );
    expect((await admin("wait", other, "--timeout", "120")).stdout).toMatch(/FINISHED:COMPLETED/);
  });

  // How fast a site is seen offline is measured by `npm run bench -- heartbeat`, and the
  // heartbeat's bound is checked on fake timers (cell/heartbeat.test.ts): here, only that it is.
  it("shows a SIGKILLed site offline, saying why in the server's log, then online again once, after a restart", async () => {
    const site = runtime.sites.get("site-3");
    site?.child.kill("SIGKILL");
    await runtime.server.waitFor(/site-3 is offline: \S/);
    const offline = await waitFor(siteList, (list) =>
      list.some((s) => s.name === "site-3" && !s.online),
    );
    expect(offline.find((s) => s.name === "site-3")?.online).toBe(false);
    runtime.startSite("site-3");
    const back = await waitFor(siteList, (list) => list.every((s) => s.online));
    expect(back.filter((s) => s.name === "site-3")).toEqual([
      expect.objectContaining({ name: "site-3", online: true }),
    ]);
    expect(back).toHaveLength(3);
  });

  it("refuses bad jobs with a clear line: no meta.json, unknown keys, wrong types", async () => {
    const empty = join(root, "jobs", "empty");
    await mkdir(empty, { recursive: true });
    expect((await admin("submit", empty)).stderr).toMatch(/meta\.json/);
    const unknown = await admin(
      "submit",
      await jobFolder("unknown", { name: "x", app: "sum", colour: "red" }),
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/colour/);
    const wrong = await admin(
      "submit",
      await jobFolder("wrong", { name: "x", app: "sum", minSites: "two" }),
    );
    expect(wrong.stderr).toMatch(/minSites/);
  });
});
