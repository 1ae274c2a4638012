import { existsSync, readdirSync } from "node:fs";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll, startFedbridge } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { excludeAtSite, startTestRuntime, type TestRuntime } from "./runtime-harness.ts";

// The runtime's job model end to end: a native job (test/jobs/sag: ScatterAndGather, an
// executor whose training is exact arithmetic) on a server and 4 sites, real processes on
// loopback, with sites' job processes and the server killed or stopped mid-job.
// The job's meta.json waits 60 s (waitTimeAfterMinReceived) for the last site once
// minResponses (3) results are in: a site that is only slow (a job process still loading on a
// loaded machine) is in its round, so which sites a round has depends on what a test does to
// them, not on the machine's load. A failed or dead site's result ends its wait at once.

afterAll(killAll);

const SAG_JOB = "test/jobs/sag";
let runtime: TestRuntime;
const admin = (...args: string[]) => runtime.admin(args);

interface SagResult {
  finalArraysSha256: string;
  scatterAndGather: { rounds: { round: number; sites: string[] }[] };
  received?: Record<string, string[]>;
}

async function submit(...config: string[]): Promise<string> {
  const args = config.length ? ["--run-config", config.join(" ")] : [];
  const submitted = await admin("submit", SAG_JOB, ...args);
  expect(submitted.code, submitted.stderr).toBe(0);
  return submitted.stdout.trim().split("\n").at(-1) as string;
}

async function finish(jobId: string, timeout = 120): Promise<{ status: string; reason?: string }> {
  await admin("wait", jobId, "--timeout", String(timeout));
  const status = await admin("status", jobId, "--json");
  // A server that is gone says why in its own output: show it rather than a JSON error.
  if (status.code !== 0)
    throw new Error(
      `status failed: ${status.stderr}\nserver output:\n${runtime.server.output().slice(-4000)}`,
    );
  return JSON.parse(status.stdout);
}

async function result(jobId: string): Promise<SagResult> {
  const out = join(runtime.root, "download", jobId);
  const downloaded = await admin("download", jobId, "-o", out);
  expect(downloaded.code, downloaded.stderr).toBe(0);
  return JSON.parse(await readFile(join(out, "result.json"), "utf8"));
}

const serverJobLog = (jobId: string) =>
  readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");

/** Resolves once the server's log of `jobId` matches `pattern` (the file is read every 100 ms). */
async function serverLogged(jobId: string, pattern: RegExp, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(await serverJobLog(jobId).catch(() => ""))) {
    if (Date.now() > deadline) throw new Error(`the server never logged ${pattern} for ${jobId}`);
    await sleep(100);
  }
}

/** The pid of a site's job process for `jobId`, from the site's log. */
async function siteJobPid(site: string, jobId: string): Promise<number> {
  const process = runtime.sites.get(site);
  const pattern = new RegExp(`job ${jobId} process (\\d+) started`);
  return Number((await process?.waitFor(pattern))?.[1]);
}

/** Resolves once a site has logged `text` for `jobId` (its job process's lines carry the id). */
async function siteLogged(site: string, jobId: string, text: string): Promise<void> {
  await runtime.sites.get(site)?.waitFor(new RegExp(`${text}[^\n]*job=${jobId}`));
}

beforeAll(async () => {
  runtime = await startTestRuntime(4, 4, {
    // site-2's default scope drops any array named "secret" from its results.
    beforeSitesStart: (kits) => excludeAtSite(kits, "site-2", ["secret"]),
  });
}, 120_000);

describe("native runtime jobs (server, 4 sites)", () => {
  let referenceSha = "";

  it("runs ScatterAndGather to the end: every site in every round, in site order", async () => {
    const jobId = await submit("numRounds=5");
    expect(await finish(jobId)).toMatchObject({ status: "FINISHED:COMPLETED" });
    const { scatterAndGather, finalArraysSha256 } = await result(jobId);
    expect(scatterAndGather.rounds.map((r) => r.sites)).toEqual(
      Array(5).fill(["site-1", "site-2", "site-3", "site-4"]),
    );
    expect(finalArraysSha256).toMatch(/^[0-9a-f]{64}$/);
    referenceSha = finalArraysSha256;
    // Done: nothing left in transit, and no checkpoint kept (the final model is).
    const jobDir = join(runtime.kits, "server1", "jobs", jobId);
    for (let i = 0; i < 300 && existsSync(join(jobDir, "checkpoints")); i++) await sleep(100);
    expect(
      readdirSync(jobDir).filter((name) => ["transfer", "checkpoints"].includes(name)),
    ).toEqual([]);
    expect(existsSync(join(jobDir, "final-model.fbs"))).toBe(true);
  });

  it("ends a round without a site whose job process was SIGKILLed, and takes it back the next round", async () => {
    // site-4's round-2 task lasts until its process is killed, however late the test sees it.
    const jobId = await submit('stallAt="site-4:2"', "numRounds=3");
    const pid = await siteJobPid("site-4", jobId);
    await siteLogged("site-4", jobId, "site-4 train round 2 starts");
    process.kill(pid, "SIGKILL");
    expect(await finish(jobId)).toMatchObject({ status: "FINISHED:COMPLETED" });
    const { scatterAndGather } = await result(jobId);
    expect(
      scatterAndGather.rounds.map((r) => r.sites),
      await serverJobLog(jobId),
    ).toEqual([
      ["site-1", "site-2", "site-3", "site-4"],
      ["site-1", "site-2", "site-3"],
      ["site-1", "site-2", "site-3", "site-4"],
    ]);
    // The site was there; its job crashed: an ERROR of the job, not a dead site.
    expect(await serverJobLog(jobId)).toMatch(
      /site-4: task train \(round 2\): ERROR: the job process ended \(killed by SIGKILL\)/,
    );
  });

  it("completes a round without a SIGSTOPped site at the task timeout, ignores its stale result after SIGCONT, and takes it back", async () => {
    // site-4's job process stops itself (SIGSTOP) in its round-2 task; the others have 10 s
    // (taskTimeout, before the 60 s waitTimeAfterMinReceived) for each 300 ms task.
    const jobId = await submit(
      'freezeAt="site-4:2"',
      "delayMs=300",
      "numRounds=6",
      "taskTimeout=10",
    );
    const pid = await siteJobPid("site-4", jobId);
    await serverLogged(jobId, /site-4: task train \(round 2\): TIMEOUT/);
    process.kill(pid, "SIGCONT");
    expect(await finish(jobId)).toMatchObject({ status: "FINISHED:COMPLETED" });
    const rounds = (await result(jobId)).scatterAndGather.rounds;
    expect(rounds[1]?.sites).toEqual(["site-1", "site-2", "site-3"]);
    expect(rounds.at(-1)?.sites).toEqual(["site-1", "site-2", "site-3", "site-4"]);
    const log = await serverJobLog(jobId);
    expect(log).toMatch(/site-4: task train \(round 2\): TIMEOUT/);
    expect(log).toMatch(/stale result of site-4 for task train \(round 2\) ignored/);
  });

  it.each([
    ["SIGKILLed", "SIGKILL"],
    ["stopped (SIGTERM)", "SIGTERM"],
  ] as const)(
    "resumes a job at round 3 after the server parent is %s in round 3 of 5, with the same final model",
    async (_, signal) => {
      const jobId = await submit("delayMs=2000", "numRounds=5");
      // An admin waiting on the job keeps waiting through the restart (2 s rounds leave it
      // time to start under load before round 3).
      const admin = join(runtime.kits, "admin@org-a.com");
      const waiting = startFedbridge(["admin", "--kit", admin, "wait", jobId, "--timeout", "240"]);
      await waiting.waitFor(/sag-test/);
      await serverLogged(jobId, /round 3 of 5/);
      runtime.server.child.kill(signal);
      await runtime.server.exited;
      await runtime.restartServer();
      expect(await finish(jobId)).toMatchObject({ status: "FINISHED:COMPLETED" });
      expect(await waiting.exited).toBe(0);
      expect(waiting.output()).toMatch(/the server cannot be reached .*: still waiting/);
      expect(waiting.output()).toMatch(/FINISHED:COMPLETED/);
      const { finalArraysSha256, scatterAndGather } = await result(jobId);
      expect(await serverJobLog(jobId)).toMatch(/resuming at round 3 of 5/);
      expect(scatterAndGather.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);
      expect(finalArraysSha256).toBe(referenceSha);
    },
  );

  it("drops the arrays a site's privacy scope excludes from that site's results, though the job sets no filter", async () => {
    const jobId = await submit('workflow="./collect.ts"', "secret=true");
    expect(await finish(jobId)).toMatchObject({ status: "FINISHED:COMPLETED" });
    // What reached the server from each site: site-2's scope dropped "secret" on the way out.
    expect((await result(jobId)).received).toEqual({
      "site-1": ["w", "b", "secret"],
      "site-2": ["w", "b"],
      "site-3": ["w", "b", "secret"],
      "site-4": ["w", "b", "secret"],
    });
    // site-2's executor did produce it: the filter, not the executor, removed it.
    await siteLogged("site-2", jobId, "site-2 collect round 1 returns w,b,secret");
  });

  it("goes on under minResponses when one site's executor throws, with its message in the log", async () => {
    const jobId = await submit('throwAt="site-3"', "numRounds=2");
    expect(await finish(jobId)).toMatchObject({ status: "FINISHED:COMPLETED" });
    const { scatterAndGather } = await result(jobId);
    expect(scatterAndGather.rounds.map((r) => r.sites)).toEqual([
      ["site-1", "site-2", "site-4"],
      ["site-1", "site-2", "site-4"],
    ]);
    expect(await serverJobLog(jobId)).toMatch(
      /site-3: task train \(round 1\): ERROR: .*site-3 has no data/,
    );
  });

  it("fails a round with fewer results than minResponses, saying which sites failed and why", async () => {
    const jobId = await submit('throwAt="site-3"', "minResponses=4", "numRounds=2");
    const status = await finish(jobId);
    expect(status.status).toBe("FINISHED:FAILED");
    expect(status.reason).toMatch(
      /round 1: 3 usable results, 4 needed \(minResponses\): site-3 ERROR/,
    );
  });

  it('fails a job whose folder lacks a package.json with "type": "module", saying so', async () => {
    const folder = join(runtime.root, "sag-without-package-json");
    await cp(SAG_JOB, folder, { recursive: true });
    await rm(join(folder, "package.json"));
    const submitted = await admin("submit", folder);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    const status = await finish(jobId);
    expect(status.status).toBe("FINISHED:FAILED");
    expect(status.reason).toMatch(/the job folder needs a package.json with "type": "module"/);
  });

  it("refuses a job that asks for a privacy scope a site does not define", async () => {
    // privacyScope is not among the job's config keys, so it goes into a copy's meta.json.
    const folder = join(runtime.root, "sag-with-unknown-scope");
    await cp(SAG_JOB, folder, { recursive: true });
    const meta = JSON.parse(await readFile(join(folder, "meta.json"), "utf8"));
    meta.config.privacyScope = "no-such-scope";
    await writeFile(join(folder, "meta.json"), JSON.stringify(meta));
    const submitted = await admin("submit", folder);
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    const status = await finish(jobId);
    expect(status.status).toBe("FINISHED:FAILED");
    expect(status.reason).toMatch(
      /site site-\d has no privacy scope 'no-such-scope' \(it has: public, private\)/,
    );
  });
});

describe("examples/runtime-sag", () => {
  it("trains the quickstart's model with ScatterAndGather on 4 sites, then evaluates every site's model at every site", async () => {
    const submitted = await admin("submit", "examples/runtime-sag", "--run-config", "numRounds=3");
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    expect(await finish(jobId)).toMatchObject({ status: "FINISHED:COMPLETED" });
    const out = join(runtime.root, "download", jobId);
    expect((await admin("download", jobId, "-o", out)).code).toBe(0);
    const result = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
    expect(result.scatterAndGather.rounds).toHaveLength(3);
    const owners = ["site-1", "site-2", "site-3", "site-4", "server"];
    expect(Object.keys(result.crossSiteEval).sort()).toEqual(owners.sort());
    // The global model does better than chance at every site (the data is separable).
    for (const site of ["site-1", "site-2", "site-3", "site-4"])
      expect(result.crossSiteEval.server[site]["eval-acc"]).toBeGreaterThan(0.6);
  });
});

describe("a site's kit with a bad privacy.json or resources.json", () => {
  const brokenKit = async (file: string, change: (json: Record<string, unknown>) => void) => {
    const kit = join(runtime.root, `broken-${file}`);
    await cp(join(runtime.kits, "site-4"), kit, { recursive: true });
    const json = JSON.parse(await readFile(join(kit, file), "utf8"));
    change(json);
    await writeFile(join(kit, file), JSON.stringify(json));
    return kit;
  };

  it("stops the site at start with one line naming privacy.json and the unknown filter", async () => {
    const kit = await brokenKit("privacy.json", (policy) => {
      policy.scopes = {
        ...(policy.scopes as object),
        private: { taskDataFilters: [], taskResultFilters: [{ name: "NoSuchFilter" }] },
      };
    });
    const started = await runFedbridge(["client", "--kit", kit]);
    expect(started.code).not.toBe(0);
    const lines = started.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /privacy\.json: scopes\.private\.taskResultFilters\[0\]: unknown filter 'NoSuchFilter'/,
    );
  });

  it("stops the site at start with one line naming resources.json and the field", async () => {
    const kit = await brokenKit("resources.json", (resources) => {
      resources.maxJobs = "many";
    });
    const started = await runFedbridge(["client", "--kit", kit]);
    expect(started.code).not.toBe(0);
    const lines = started.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/resources\.json: maxJobs: /);
  });
});
