/**
 * The runtime's memory under a large model: 8 sites × 100M float32 (400 MB), one round of
 * ScatterAndGather whose executor sends the model straight back. The server (parent and job
 * process together) must stay within its idle RSS plus 3× the model size: the model is
 * written to disk once and streamed to each site, each result streams to disk and is folded
 * into the running sum when its turn comes. The baselines, measured in the same run, are the
 * server's idle RSS and the physical limit for the same bytes (bench/lib/limit.ts; goal: the
 * round within 4× of it). `BENCH_FLOATS` and `BENCH_SITES` shrink it.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { submitJob } from "../src/flare-runtime/admin/submit-job.ts";
import { physicalLimit } from "./lib/limit.ts";
import { procStatusBytes } from "./lib/proc.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "runtime: 8 sites × 100M float32, one ScatterAndGather round; server peak RSS over idle, in model sizes (goal ≤ 3), and the round over the physical limit (goal ≤ 4)";

const MB = 1e6;

export async function run(): Promise<void> {
  const floats = Number(process.env.BENCH_FLOATS ?? 100e6);
  const siteCount = Number(process.env.BENCH_SITES ?? 8);
  const modelBytes = floats * 4;
  const processes = new BenchProcesses();
  const root = await mkdtemp(join(tmpdir(), "fedbridge-bench-memory-"));
  try {
    const { serverPid, admin } = await processes.runtime(root, siteCount);
    await sleep(2000);
    const idle = rssOf(serverPid);
    let peak = idle;
    let peakParent = idle;
    const sampler = setInterval(() => {
      const parent = rssOf(serverPid);
      const total = parent + childrenOf(serverPid).reduce((sum, pid) => sum + rssOf(pid), 0);
      peak = Math.max(peak, total);
      peakParent = Math.max(peakParent, parent);
    }, 50);
    const started = performance.now();
    const job = await submitJob(admin, resolve("bench/jobs/echo-model"), { floats });
    let status = "";
    let reason = "";
    for await (const info of admin.client.waitJob({ id: job.id })) ({ status, reason } = info);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (status !== "FINISHED:COMPLETED") throw new Error(`job ${status}: ${reason}`);
    const over = (peak - idle) / modelBytes;
    console.log(
      `model ${(modelBytes / MB).toFixed(0)} MB × ${siteCount} sites, one round in ${seconds.toFixed(1)} s (submit to completed)`,
    );
    console.log(
      `server idle RSS ${(idle / MB).toFixed(0)} MB; peak ${(peak / MB).toFixed(0)} MB (parent alone ${(peakParent / MB).toFixed(0)} MB)`,
    );
    console.log(
      `peak over idle: ${((peak - idle) / MB).toFixed(0)} MB = ${over.toFixed(2)} × the model (goal ≤ 3): ${over <= 3 ? "met" : "NOT met"}`,
    );
    processes.killAll();
    console.log(
      `the physical limit for the same bytes (${siteCount} processes, bare TCP): measuring`,
    );
    const limit = await physicalLimit({ values: floats, nodes: siteCount, repeats: 1 });
    const ratio = seconds / limit;
    console.log(
      `limit ${limit.toFixed(2)} s; the round is ${ratio.toFixed(1)} × the limit (goal ≤ 4): ${ratio <= 4 ? "met" : "NOT met"}`,
    );
    console.log(
      JSON.stringify({ bench: "runtime-memory", seconds, limit, ratio, idle, peak, over }),
    );
  } finally {
    processes.killAll();
    await rm(root, { recursive: true, force: true });
  }
}

/** Resident set size of a process in bytes (0 once it is gone). */
function rssOf(pid: number): number {
  return procStatusBytes(pid, "VmRSS") ?? 0;
}

/** The server's child processes: its job processes. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
