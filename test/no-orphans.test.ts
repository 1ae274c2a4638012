import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, type FedbridgeProcess, killAll } from "./processes.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";
import { quickstartWith } from "./test-apps.ts";

// No job process outlives its job at a site, whatever happened to the server or the site,
// and a site that restarts mid-job takes part again. Four sites; the slow quickstart needs
// three of them a round.

afterAll(killAll);

let runtime: TestRuntime;
const jobIdOf = (stdout: string) => stdout.trim().split("\n").at(-1) as string;

beforeAll(async () => {
  runtime = await startTestRuntime(4);
}, 120_000);

async function submit(rounds: number): Promise<string> {
  const app = await quickstartWith("slow-quickstart");
  const submitted = await runtime.admin([
    "submit",
    app,
    "--run-config",
    `num-server-rounds=${rounds}`,
  ]);
  return jobIdOf(submitted.stdout);
}

/** Resolves once the job's log matches `pattern` (polled; a job's log is a file). */
async function logShows(
  jobId: string,
  pattern: RegExp | ((log: string) => boolean),
  timeoutMs = 120_000,
): Promise<string> {
  const file = join(runtime.kits, "server1", "jobs", jobId, "log.txt");
  const matches = typeof pattern === "function" ? pattern : (log: string) => pattern.test(log);
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const log = await readFile(file, "utf8").catch(() => "");
    if (matches(log)) return log;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${jobId}'s log never showed ${pattern}`);
}

/** The ids of the processes a site started for a job, from its output. */
const jobProcesses = (site: FedbridgeProcess | undefined, jobId: string) =>
  [...(site?.output() ?? "").matchAll(new RegExp(`job ${jobId} process (\\d+) started`, "g"))].map(
    (m) => Number(m[1]),
  );

/** Every process of the job at every site has ended within 30 s. */
async function noJobProcessLeft(jobId: string, sites: (FedbridgeProcess | undefined)[]) {
  const pids = sites.flatMap((site) => jobProcesses(site, jobId));
  expect(pids.length).toBeGreaterThan(0);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if (!pids.some(alive)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(pids.filter(alive)).toEqual([]);
}

const sites = () => [...runtime.sites.values()];

describe("job processes at sites end with their job", () => {
  it("after an abort", async () => {
    const jobId = await submit(6);
    await logShows(jobId, /\[ROUND 1\/6\]/);
    expect((await runtime.admin(["abort", jobId])).code).toBe(0);
    await noJobProcessLeft(jobId, sites());
  });

  it("after the server is SIGKILLed and restarted (the job resumes and ends)", async () => {
    const jobId = await submit(3);
    await logShows(jobId, /\[ROUND 1\/3\]/);
    const before = sites();
    runtime.server.child.kill("SIGKILL");
    await runtime.server.exited;
    await runtime.restartServer();
    const waited = await runtime.admin(["wait", jobId, "--timeout", "180"]);
    expect(waited.stdout).toMatch(/FINISHED:COMPLETED/);
    await noJobProcessLeft(jobId, before);
  });

  it("at a site that was frozen (SIGSTOP) past the job's end", async () => {
    const jobId = await submit(2);
    await logShows(jobId, /\[ROUND 1\/2\]/);
    const frozen = runtime.sites.get("site-4");
    frozen?.child.kill("SIGSTOP");
    try {
      const waited = await runtime.admin(["wait", jobId, "--timeout", "120"]);
      expect(waited.stdout).toMatch(/FINISHED:COMPLETED/);
    } finally {
      frozen?.child.kill("SIGCONT");
    }
    // Back, it reconnects; the server says the job no longer runs, and the site stops it.
    await noJobProcessLeft(jobId, [frozen]);
  });
});

describe("a site that restarts while a job runs", () => {
  it("gets the job again and has results in a later round", async () => {
    // Rounds enough never to end before the site is back, however loaded the machine is: the
    // test waits for a round with the site's results, then aborts the job.
    const jobId = await submit(40);
    await logShows(jobId, /\[ROUND 2\/40\]/);
    runtime.sites.get("site-4")?.child.kill("SIGKILL");
    await runtime.sites.get("site-4")?.exited;
    runtime.startSite("site-4");
    const backInLaterRound = (log: string) => {
      const rounds = log.split(/\[ROUND \d+\/40\]/).slice(1);
      const missed = rounds.findIndex((r) =>
        /aggregate_train: Received 3 results and 1 failures/.test(r),
      );
      return (
        missed > -1 &&
        rounds
          .slice(missed + 1)
          .some((r) => /aggregate_train: Received 4 results and 0 failures/.test(r))
      );
    };
    await logShows(jobId, backInLaterRound, 180_000);
    expect((await runtime.admin(["abort", jobId])).code).toBe(0);
  });
});
