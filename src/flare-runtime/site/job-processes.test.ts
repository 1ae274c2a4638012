import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../core/logger.ts";
import { BUILTIN_RUNNERS } from "../job-process/runner-registry.ts";
import { JobProcesses } from "./job-processes.ts";
import type { SiteKit } from "./read-site-kit.ts";
import type { DeployedJob } from "./site-jobs.ts";

// A site's job processes with the `sum` runner: a site part that answers `add` requests.

/** The site's log lines, and a way to wait for one. */
function siteLog() {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const log = createLogger({
    name: "site-1",
    format: "json",
    stdout: {
      write(line) {
        lines.push(JSON.parse(line).msg);
        for (const waiter of waiters) waiter();
      },
    },
  });
  /** Resolves with the match of the `nth` line (1-based) that matches `pattern`. */
  const waitFor = (pattern: RegExp, nth = 1) =>
    new Promise<RegExpMatchArray>((resolve) => {
      const check = () => {
        const match = lines.map((line) => line.match(pattern)).filter((m) => m !== null)[nth - 1];
        if (match) {
          waiters.delete(check);
          resolve(match);
        }
      };
      waiters.add(check);
      check();
    });
  return { log, lines, waitFor };
}

let jobs: JobProcesses | undefined;
afterEach(() => jobs?.close());

async function startSumJob() {
  const workspace = await mkdtemp(join(tmpdir(), "fedbridge-site-jobs-"));
  const { log, lines, waitFor } = siteLog();
  const kit = {
    config: { name: "site-1" },
    privacy: { formatVersion: 1, scopes: {}, defaultScope: "" },
    nodeConfig: {},
  } as unknown as SiteKit;
  jobs = new JobProcesses({ kit, workspace, runners: BUILTIN_RUNNERS, log, cell: () => undefined });
  const jobId = randomUUID();
  await jobs.start({
    deployment: { jobId, config: {}, sites: ["site-1"] },
    checked: { files: new Map(), meta: { app: "sum" } },
  } as unknown as DeployedJob);
  const pid = async (nth: number) => Number((await waitFor(/process (\d+) started/, nth))[1]);
  const started = () => lines.filter((line) => /process \d+ started/.test(line)).length;
  return { jobs, jobId, pid, started, waitFor };
}

describe("a site's job processes", () => {
  it("starts a process that died after it answered again at once, and it answers the next request", async () => {
    const { jobs, jobId, pid } = await startSumJob();
    expect(await jobs.request(jobId, "add", { value: 2, position: 3 })).toBe(6);
    process.kill(await pid(1), "SIGKILL");
    // No request comes: the new process is started because the old one died.
    const again = await pid(2);
    expect(again).not.toBe(await pid(1));
    expect(await jobs.request(jobId, "add", { value: 1, position: 4 })).toBe(4);
  });

  it("starts a process that died before it ever answered again only for the next request", async () => {
    const { jobs, jobId, pid, started, waitFor } = await startSumJob();
    process.kill(await pid(1), "SIGKILL");
    await waitFor(/process ended: .*killed by SIGKILL/);
    // Whether to start it again is decided as its end is logged: it was not.
    expect(started()).toBe(1);
    expect(await jobs.request(jobId, "add", { value: 1, position: 5 })).toBe(5);
    expect(started()).toBe(2);
  });

  it("does not start a stopped job's process again", async () => {
    const { jobs, jobId, started, waitFor } = await startSumJob();
    await jobs.request(jobId, "add", { value: 1, position: 1 });
    await jobs.stop(jobId);
    await waitFor(/process ended/);
    expect(started()).toBe(1);
    expect(jobs.has(jobId)).toBe(false);
  });
});
