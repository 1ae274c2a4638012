/**
 * Scale of the native deployment: N SuperNodes (default 1,000, `BENCH_NODES`), each with its
 * own key, registration, heartbeats and pulls, inside a few processes (`BENCH_NODE_PROCS`,
 * default 4; their ClientApps run on the process's thread), against a real SuperLink process.
 * A tiny-model FedAvg (bench/apps/fedavg-10m with 1,000 floats) samples every node each round
 * for `BENCH_ROUNDS` rounds (default 5). Measures the time to register all N, the SuperLink's
 * RSS per connected node (against its own idle RSS, same run), the median round time and
 * the SuperLink's CPU seconds a round (wall time on a shared machine is mostly the nodes'),
 * beside the same run with 10 nodes on a second SuperLink, so the figures are ratios. The nodes
 * of a process share one HTTP/2 connection (grpc-js's pool); `BENCH_OWN_CONNECTIONS=1` gives
 * each its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import type { RoundSummary } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { procCpuSeconds, procStatusBytes } from "./lib/proc.ts";
import { BenchProcesses, cpuProfArgs, stopChildren } from "./lib/spawn.ts";

export const description =
  "native deployment scale: 1,000 SuperNodes on one SuperLink: time to register, RSS per node, tiny-model round median";

const BASELINE_NODES = 10;

export async function run(): Promise<void> {
  const count = Number(process.env.BENCH_NODES ?? 1000);
  const procs = Number(process.env.BENCH_NODE_PROCS ?? 4);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const app = await mkdtemp(join(tmpdir(), "fedbridge-bench-nodes-"));
  await cp("bench/apps/fedavg-10m", app, { recursive: true });
  const processes = new BenchProcesses();
  const nodeProcs: ChildProcess[] = [];
  try {
    console.log(`nodes: ${count} SuperNodes in ${procs} processes on one SuperLink`);
    const link = await processes.superlink();
    await new Promise((resolve) => setTimeout(resolve, 2000)); // settle after start-up
    const idleRss = procStatusBytes(link.pid, "VmRSS") ?? Number.NaN;

    const t = performance.now();
    const perProc = Math.ceil(count / procs);
    const registerMs = await Promise.all(
      Array.from({ length: procs }, (_, p) => {
        const first = p * perProc;
        const n = Math.min(perProc, count - first);
        return n <= 0 ? 0 : startNodes(link.fleet, first, n, count, nodeProcs);
      }),
    );
    const connectS = (performance.now() - t) / 1000;
    const registerS = Math.max(...registerMs) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 5000)); // pulls held, a heartbeat or two
    const loadedRss = procStatusBytes(link.pid, "VmRSS") ?? Number.NaN;
    const perNodeKb = (loadedRss - idleRss) / count / 1024;
    console.log(
      `  all ${count} registered in ${registerS.toFixed(1)} s (${connectS.toFixed(1)} s with starting the processes)`,
    );
    console.log(
      `  SuperLink RSS: idle ${mb(idleRss)} MB, with ${count} nodes ${mb(loadedRss)} MB: ${perNodeKb.toFixed(0)} KB per node`,
    );

    const loaded = await roundTimes(link, app, count, rounds);
    const cpuPerRound = loaded.cpuMedian;
    const afterRss = procStatusBytes(link.pid, "VmRSS") ?? Number.NaN;
    console.log(
      `  ${count} nodes: round median ${(loaded.median / 1000).toFixed(2)} s (first ${(loaded.first / 1000).toFixed(2)} s; goal: under 2 s), SuperLink RSS after the run ${mb(afterRss)} MB`,
    );
    console.log(
      `  SuperLink CPU: median ${cpuPerRound.toFixed(2)} s a round (the rest of a round's wall time is the node processes and whatever else shares the cores)`,
    );
    stopChildren(nodeProcs.splice(0));

    // The same run with a few nodes, on a SuperLink of its own.
    const small = await processes.superlink();
    await startNodes(small.fleet, 0, BASELINE_NODES, BASELINE_NODES, nodeProcs);
    const base = await roundTimes(small, app, BASELINE_NODES, rounds);
    const baseCpuPerRound = base.cpuMedian;
    console.log(
      `  ${BASELINE_NODES} nodes (baseline, same run): round median ${(base.median / 1000).toFixed(2)} s, SuperLink CPU ${baseCpuPerRound.toFixed(2)} s a round; ${count} nodes take ${(loaded.median / base.median).toFixed(1)}x the round time, ${(cpuPerRound / baseCpuPerRound).toFixed(1)}x the SuperLink CPU`,
    );
    console.log(
      JSON.stringify({
        bench: "nodes",
        count,
        procs,
        rounds,
        registerS,
        connectS,
        idleRssMb: idleRss / 2 ** 20,
        loadedRssMb: loadedRss / 2 ** 20,
        afterRunRssMb: afterRss / 2 ** 20,
        perNodeKb,
        roundMedianMs: loaded.median,
        baselineRoundMedianMs: base.median,
        cpuPerRoundS: cpuPerRound,
        baselineCpuPerRoundS: baseCpuPerRound,
      }),
    );
  } finally {
    stopChildren(nodeProcs);
    processes.killAll();
    await rm(app, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/**
 * Runs the tiny-model FedAvg over `nodes` nodes (every one sampled each round); resolves with
 * the median and first round times in ms and the median SuperLink CPU seconds a round. A
 * round with a failed reply fails the bench.
 */
async function roundTimes(
  link: { control: string; pid: number },
  app: string,
  nodes: number,
  rounds: number,
): Promise<{ median: number; first: number; cpuMedian: number }> {
  const times: number[] = [];
  const problems: string[] = [];
  const cpu: number[] = [];
  let started = 0;
  let cpuAtStart = 0;
  await runOnSuperLink({
    address: link.control,
    credentials: credentials.createInsecure(),
    appDir: app,
    runConfig: {
      "num-server-rounds": rounds,
      "num-arrays": 1,
      "floats-per-array": 1000,
      "min-available-nodes": nodes,
    },
    observer: {
      roundStarted: () => {
        started = performance.now();
        cpuAtStart = procCpuSeconds(link.pid) ?? Number.NaN;
      },
      roundFinished: (summary: RoundSummary) => {
        const replies = summary.nodes.filter((n) => n.phase === "train").length;
        if (summary.failures.train > 0 || replies !== nodes)
          problems.push(
            `round ${summary.round}: ${replies} of ${nodes} replies, ${summary.failures.train} failed: ${summary.errors.map((e) => e.reason).join("; ")}`,
          );
        times.push(performance.now() - started);
        cpu.push((procCpuSeconds(link.pid) ?? Number.NaN) - cpuAtStart);
      },
      log: () => {},
      waiting: (line) => {
        if (process.env.BENCH_VERBOSE) console.log(`  waiting: ${line}`);
      },
    },
  });
  if (problems.length > 0) throw new Error(`the run with ${nodes} nodes: ${problems.join("; ")}`);
  const first = times[0] ?? Number.NaN;
  console.log(
    `  ${nodes} nodes: rounds took ${times.map((ms) => (ms / 1000).toFixed(2)).join(", ")} s; SuperLink CPU ${cpu.map((s) => s.toFixed(2)).join(", ")} s`,
  );
  const median = (values: number[]) =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  return { median: median(times), first, cpuMedian: median(cpu) };
}

/**
 * Starts one process of `count` nodes (partitions first.. of total); resolves with the ms it
 * took them to register, once all have.
 */
function startNodes(
  fleet: string,
  first: number,
  count: number,
  total: number,
  children: ChildProcess[],
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      "--max-old-space-size=4096",
      ...cpuProfArgs(),
      "bin/run-ts.mjs",
      "bench/lib/many-nodes.ts",
      fleet,
      String(first),
      String(count),
      String(total),
    ]);
    children.push(child);
    let out = "";
    // Registration is bounded: a stall fails the bench with what the nodes reported.
    const limitS = Number(process.env.BENCH_REGISTER_TIMEOUT ?? 180);
    const timer = setTimeout(() => {
      const progress = out.match(/^connected .*$/gm)?.at(-1) ?? "connected 0";
      reject(
        new Error(
          `nodes ${first}..${first + count - 1}: not all registered in ${limitS} s (${progress})`,
        ),
      );
    }, limitS * 1000);
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (process.env.BENCH_VERBOSE) process.stdout.write(chunk);
      // Progress, so a long wait shows what it waits for.
      else
        for (const line of chunk.toString().match(/^connected .*$/gm) ?? [])
          console.log(`    nodes ${first}..: ${line}`);
      const ready = /^ready (\d+)$/m.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nodes process exited (${code}): ${out}`));
    });
  });
}
