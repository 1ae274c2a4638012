import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { MALLOC_TUNABLES } from "../../core/malloc-tuning.mjs";
import { JobProcessHost } from "./job-process-host.ts";
import type { Payload } from "./job-runner.ts";

const runnerUrl = new URL("./runners/sum.ts", import.meta.url).href;
const PRINT_TUNABLES = "console.log('tunables='+process.env.GLIBC_TUNABLES)";

async function startJob(config: Record<string, unknown>, sites = ["site-a", "site-b", "site-c"]) {
  const dir = await mkdtemp(join(tmpdir(), "fedbridge-job-"));
  const common = { jobId: "job-1", runnerUrl, config, dir, workspace: dir };
  const siteHosts = new Map(
    sites.map((site) => [
      site,
      new JobProcessHost({ ...common, role: "site", sites: [site, ...sites] }),
    ]),
  );
  const rounds: number[] = [];
  let roundDone = () => {};
  const firstRound = new Promise<void>((resolve) => {
    roundDone = resolve;
  });
  const results: Record<string, unknown>[] = [];
  const server = new JobProcessHost(
    { ...common, role: "server", sites },
    {
      request: (site: string, topic: string, payload: Payload) =>
        (siteHosts.get(site) as JobProcessHost).request(topic, payload),
      round: (round) => {
        rounds.push(round);
        roundDone();
      },
      result: (result) => results.push(result),
    },
  );
  return { server, siteHosts, rounds, results, firstRound };
}

describe("job processes (the sum job)", () => {
  it("runs the server part against site parts and reports rounds and the result", async () => {
    const { server, siteHosts, rounds, results } = await startJob({ value: 2, rounds: 2 });
    const exit = await server.exited;
    expect(exit).toEqual({ completed: true, reason: "" });
    expect(rounds).toEqual([1, 2]);
    // 2 × (1 + 2 + 3) per round.
    expect(results).toEqual([{ sums: [12, 12], sites: ["site-a", "site-b", "site-c"] }]);
    await Promise.all([...siteHosts.values()].map((h) => h.stop(500)));
  });

  it("ends a killed job process with a reason, and only that job", async () => {
    const slow = await startJob({ rounds: 50, delayMs: 100 });
    const other = await startJob({ value: 1 });
    await slow.firstRound; // mid-job: 49 rounds to go
    process.kill(slow.server.pid as number, "SIGKILL");
    const exit = await slow.server.exited;
    expect(exit.completed).toBe(false);
    expect(exit.reason).toMatch(/killed by SIGKILL/);
    expect((await other.server.exited).completed).toBe(true);
    for (const job of [slow, other])
      await Promise.all([...job.siteHosts.values()].map((h) => h.stop(500)));
  });

  it("starts job processes with glibc's malloc tuned for model-sized data", async () => {
    // The job process prints the GLIBC_TUNABLES it started with, before anything else.
    const nodeOptions = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = `--import=data:text/javascript,${PRINT_TUNABLES}`;
    const lines: string[] = [];
    let host: JobProcessHost;
    try {
      const dir = await mkdtemp(join(tmpdir(), "fedbridge-job-"));
      host = new JobProcessHost(
        { jobId: "job-1", runnerUrl, config: {}, dir, workspace: dir, role: "site", sites: ["a"] },
        { log: (line) => lines.push(line) },
      );
    } finally {
      if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = nodeOptions;
    }
    await vi.waitFor(() => expect(lines.join("\n")).toMatch(/tunables=/), { timeout: 60_000 });
    expect(lines.join("\n")).toContain(`tunables=${MALLOC_TUNABLES}`);
    await host.stop(500);
  });

  it("fails the job with the site's error when a site part throws", async () => {
    const { server, siteHosts } = await startJob({ value: 1 });
    const exit = await server.exited;
    expect(exit.completed).toBe(true);
    const broken = (siteHosts.get("site-a") as JobProcessHost).request("nope", null);
    await expect(broken).rejects.toThrow(/unknown topic nope/);
    await Promise.all([...siteHosts.values()].map((h) => h.stop(500)));
  });
});
