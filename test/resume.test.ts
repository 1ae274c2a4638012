import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FedbridgeProcess, killAll } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";
import { countingMnist, quickstartWith } from "./test-apps.ts";

// A bridged Flower-style job survives a server SIGKILL: the restarted server runs its
// ServerApp again from the start against the journal of the replies it got, and the job ends
// with the model an undisturbed run gives; no site handles a message twice. Three sites; the
// app (test/apps/resumable) takes a second per message, so the kill lands mid-phase.

afterAll(killAll);

let runtime: TestRuntime;
let app: string;
const jobIdOf = (stdout: string) => stdout.trim().split("\n").at(-1) as string;

beforeAll(async () => {
  runtime = await startTestRuntime(3);
  app = await quickstartWith("resumable");
}, 120_000);

const tempDir = () => mkdtemp(join(tmpdir(), "fedbridge-resume-"));

/** The final model's hash of an app simulated on 3 nodes: what every mode gives. */
async function simulated(config: string, simulatedApp = app): Promise<string> {
  const out = await tempDir();
  const run = ["run", simulatedApp, "--sim", "--nodes", "3", "--seed", "7", "--out", out];
  const sim = await runFedbridge([...run, "--run-config", config], 600_000);
  expect(sim.code, sim.stderr).toBe(0);
  return JSON.parse(await readFile(join(out, "result.json"), "utf8")).finalArraysSha256;
}

/**
 * Runs the app as a job; with `killAt`, SIGKILLs the server once a site logs that line of the
 * job, and starts it again (for each line in turn, when given several). Resolves with the
 * job's final status and its id.
 */
async function job(config: string, killAt?: RegExp | RegExp[], submittedApp = app) {
  const submitted = await runtime.admin([
    "submit",
    submittedApp,
    "--seed",
    "7",
    "--run-config",
    config,
  ]);
  const jobId = jobIdOf(submitted.stdout);
  for (const at of [killAt ?? []].flat()) {
    const site = runtime.sites.get("site-1") as FedbridgeProcess;
    // A job that ends before the kill point says how, rather than leaving the wait to time out.
    const ended = runtime.server.waitFor(new RegExp(`job ${jobId} FINISHED[^\\n]*`), 300_000).then(
      ([line]) => Promise.reject(new Error(`the job ended before site-1 logged ${at}: ${line}`)),
      () => new Promise<never>(() => {}), // the server was killed: the site's wait decides
    );
    await Promise.race([
      site.waitFor(new RegExp(`${at.source}[^\\n]*job=${jobId}`), 300_000),
      ended,
    ]);
    runtime.server.child.kill("SIGKILL");
    await runtime.server.exited;
    await runtime.restartServer();
  }
  await runtime.admin(["wait", jobId, "--timeout", "600"], undefined, 620_000);
  const status = JSON.parse((await runtime.admin(["status", jobId, "--json"])).stdout);
  return { jobId, status };
}

async function finalSha(jobId: string): Promise<string> {
  const out = await tempDir();
  expect((await runtime.admin(["download", jobId, "-o", out])).code).toBe(0);
  return JSON.parse(await readFile(join(out, "result.json"), "utf8")).finalArraysSha256;
}

/** How often each site handled each round's message of `phase`, from the sites' own logs. */
function handled(jobId: string, phase: "trains" | "evaluates"): number[][] {
  return [...runtime.sites.values()].map((site) => {
    const rounds = [
      ...site.output().matchAll(new RegExp(`${phase} round (\\d+)[^\\n]*job=${jobId}`, "g")),
    ];
    const counts = [0, 0, 0];
    for (const [, round] of rounds)
      counts[Number(round) - 1] = (counts[Number(round) - 1] ?? 0) + 1;
    return counts;
  });
}

// Each test runs up to three jobs through a server restart: generous, for a loaded machine.
describe("a bridged job whose server is SIGKILLed and restarted", { timeout: 600_000 }, () => {
  let reference = "";
  beforeAll(async () => {
    reference = await simulated("delay-ms=0");
  }, 120_000);

  // Three kills in one job (each restart resumes from a longer journal), rather than a job for
  // each: the suite's time.
  it("killed in round 1's training, in round 2's and in the final evaluation: completes with the undisturbed model, each message handled once", async () => {
    const killAt = [/trains round 1/, /trains round 2/, /evaluates round 3/];
    const { jobId, status } = await job("", killAt);
    expect(status.status, status.reason).toBe("FINISHED:COMPLETED");
    expect(await finalSha(jobId)).toBe(reference);
    expect(handled(jobId, "trains")).toEqual([
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ]);
    expect(handled(jobId, "evaluates")).toEqual([
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ]);
    const log = await readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");
    expect(log).toMatch(
      /resuming: the ServerApp runs again from the start, answered from its journal/,
    );
    // site-1 was mid-message at each kill: the message came again, and its kept result answered.
    const site1 = (runtime.sites.get("site-1") as FedbridgeProcess).output();
    expect(site1).toMatch(new RegExp(`task [0-9a-f]{12} of job ${jobId} came again`));
    // Tracking shows each round once: the replayed rounds were tracked the first time.
    const shown = await runFedbridge([
      "tracking",
      "show",
      jobId,
      "--workspace",
      join(runtime.kits, "server1"),
      "--json",
    ]);
    const scalars = JSON.parse(shown.stdout) as { site: string; tag: string; step: number }[];
    const points = scalars.map((s) => `${s.site} ${s.tag} ${s.step}`);
    expect(new Set(points).size).toBe(points.length);
    expect(points.filter((p) => p.startsWith("server train/")).length).toBeGreaterThan(0);
    for (const round of [1, 2, 3]) expect(points).toContain(`server evaluate/eval-loss ${round}`);
  });

  it("keeps a strategy's server-side state (FedAdam's moments): killed in round 3", async () => {
    const expected = await simulated('delay-ms=0 strategy="fedadam"');
    const { jobId, status } = await job('strategy="fedadam"', /trains round 3/);
    expect(status.status, status.reason).toBe("FINISHED:COMPLETED");
    expect(await finalSha(jobId)).toBe(expected);
  });

  it("samples the same sites again (fractionTrain 0.5, seeded): killed in round 2's evaluation", async () => {
    const undisturbed = await job("fraction-train=0.5");
    expect(undisturbed.status.status).toBe("FINISHED:COMPLETED");
    const killed = await job("fraction-train=0.5", /evaluates round 2/);
    expect(killed.status.status, killed.status.reason).toBe("FINISHED:COMPLETED");
    expect(await finalSha(killed.jobId)).toBe(await finalSha(undisturbed.jobId));
  });

  it("fails a ServerApp that uses the clock, saying it is not deterministic", async () => {
    const { status } = await job("clock=true", /trains round 2/);
    expect(status.status).toBe("FINISHED:FAILED");
    expect(status.reason).toMatch(/the ServerApp is not deterministic/);
  });
});

// examples/mnist's model (784-128-10, 10,000 digits): 3 rounds of one local epoch, to keep it short.
describe("examples/mnist as a bridged job, its server SIGKILLed in rounds 1, 2 and the final evaluation", () => {
  it("completes with the simulation's model, each site training and evaluating each round once", async () => {
    const mnist = await countingMnist();
    const config = "num-server-rounds=3 local-epochs=1";
    const reference = await simulated(config, mnist);
    // Three kills in one job: each restart resumes from a longer journal.
    const killAt = [/trains round 1/, /trains round 2/, /evaluates round 3/];
    const { jobId, status } = await job(config, killAt, mnist);
    expect(status.status, status.reason).toBe("FINISHED:COMPLETED");
    expect(await finalSha(jobId)).toBe(reference);
    const once = [
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ];
    expect(handled(jobId, "trains")).toEqual(once);
    expect(handled(jobId, "evaluates")).toEqual(once);
  }, 1_200_000);
});
