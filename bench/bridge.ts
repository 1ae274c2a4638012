/**
 * Round time through the bridge (the runtime: a server and 4 sites on loopback mTLS) divided by
 * round time on the native deployment (a SuperLink and 4 SuperNodes), for FedAvg over a 10M
 * float32 model (40 MB to and from every node each round), measured in the same run. Goal: at
 * most 1.10. The deployment runs twice: without TLS (Flower's --insecure), and over TLS, as the
 * runtime always is: the second ratio compares like with like. The three take turns
 * (`BENCH_REPEATS`, default 2, of `BENCH_ROUNDS` rounds, default 4); each figure is the median
 * time between consecutive round ends, leaving out each run's round 1. The bridge also runs
 * without its reply journal (FEDBRIDGE_BENCH_NO_JOURNAL=1 in the runtime's environment), in
 * the same turns: the journal's cost is the ratio of the two. Goal: at most 1.05. As round
 * times on a busy machine vary far more than 5%, the journal's cost is also given in CPU
 * seconds a round (the server's and sites' processes, their job processes included), which
 * the load disturbs less, split into the processes' own code and the kernel's work for them.
 * The journal keeps every reply on disk, out of the page cache: on these virtual machines
 * memory used for the first time in a while is many times dearer to the kernel
 * (lib/first-touch.ts, measured first in the same run, and printed for that context).
 * `BENCH_JOURNAL_ONLY=1` runs only those two.
 */
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { JOURNAL_OFF_ENV } from "../src/bridge/flower-runner.ts";
import { submitApp } from "../src/bridge/index.ts";
import { silentObserver } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";
import {
  type SuperLinkTls,
  writeSuperLinkTls,
} from "../src/flower-api/superlink/testing/superlink-tls.ts";
import { firstTouchCost } from "./lib/first-touch.ts";
import { procChildren, procCpuSplit } from "./lib/proc.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "bridge vs native deployment: round time, FedAvg over 10M float32 × 4 nodes";

const APP = "bench/apps/fedavg-10m";
const NODES = 4;

export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
  const repeats = Number(process.env.BENCH_REPEATS ?? 2);
  const tls = await writeSuperLinkTls(await mkdtemp(join(tmpdir(), "fedbridge-bench-tls-")));
  // The three take turns, `repeats` times, so a change in the machine's load falls on all.
  const times = {
    deployment: [] as number[],
    deploymentTls: [] as number[],
    bridge: [] as number[],
    bridgeNoJournal: [] as number[],
  };
  // CPU seconds a round of the runtime's processes, one figure per job.
  const cpu = { bridge: [] as CpuShares[], bridgeNoJournal: [] as CpuShares[] };
  const journalOnly = process.env.BENCH_JOURNAL_ONLY === "1";
  // First, before any job's processes leave memory behind for the page cache to reuse.
  const touch = await firstTouchCost();
  // The bytes of replies the journal keeps a round, in the last job with it.
  let journalBytes = 0;
  for (let i = 0; i < repeats; i++) {
    if (!journalOnly) {
      times.deployment.push(...(await deploymentRounds(rounds)));
      times.deploymentTls.push(...(await deploymentRounds(rounds, tls)));
    }
    // Which of the two goes first alternates, so neither always follows the other's leftovers.
    const withJournal = async () => {
      const job = await bridgeRounds(rounds);
      times.bridge.push(...job.rounds);
      cpu.bridge.push(job.cpuPerRound);
      journalBytes = job.journalBytesPerRound;
    };
    const withoutJournal = async () => {
      const job = await bridgeRounds(rounds, { journal: false });
      times.bridgeNoJournal.push(...job.rounds);
      cpu.bridgeNoJournal.push(job.cpuPerRound);
    };
    for (const measure of i % 2 === 0
      ? [withJournal, withoutJournal]
      : [withoutJournal, withJournal])
      await measure();
  }
  const bridgeNoJournalMs = median(times.bridgeNoJournal);
  const bridgeMs = median(times.bridge);
  const journalRatio = bridgeMs / bridgeNoJournalMs;
  const withJ = medianShares(cpu.bridge);
  const withoutJ = medianShares(cpu.bridgeNoJournal);
  const total = (c: CpuShares) => c.serverUser + c.serverKernel + c.sitesUser + c.sitesKernel;
  const user = (c: CpuShares) => c.serverUser + c.sitesUser;
  const kernel = (c: CpuShares) => c.serverKernel + c.sitesKernel;
  const cpuRatio = total(withJ) / total(withoutJ);
  const pair = (f: (c: CpuShares) => number) =>
    `${f(withJ).toFixed(2)} / ${f(withoutJ).toFixed(2)} s (${(f(withJ) / f(withoutJ)).toFixed(3)})`;
  const journalLines = [
    `bridged round with its reply journal: ${bridgeMs.toFixed(0)} ms, without: ${bridgeNoJournalMs.toFixed(0)} ms; with / without: ${journalRatio.toFixed(3)} (goal: at most 1.05)`,
    "  CPU a round, with the journal / without (server, sites and their job processes):",
    `    all: ${pair(total)}; in the processes' code: ${pair(user)}; in the kernel: ${pair(kernel)}`,
    `    server: code ${pair((c) => c.serverUser)}, kernel ${pair((c) => c.serverKernel)}`,
    `    sites: code ${pair((c) => c.sitesUser)}, kernel ${pair((c) => c.sitesKernel)}`,
    `  the journal keeps ${(journalBytes / 2 ** 20).toFixed(0)} MB of replies a round on disk, out of the page cache; on this machine writing files the cache keeps costs the kernel ${touch.freshMsPerMb.toFixed(1)} ms a MB, files removed as they go ${touch.reusedMsPerMb.toFixed(1)} ms a MB (memory used before)`,
  ];
  const journalFigures = {
    bridgeNoJournalRoundMs: bridgeNoJournalMs,
    journalRatio,
    journalCpuRatio: cpuRatio,
    journalUserCpuRatio: user(withJ) / user(withoutJ),
    journalKernelCpuRatio: kernel(withJ) / kernel(withoutJ),
    cpuPerRound: withJ,
    cpuNoJournalPerRound: withoutJ,
    journalMbPerRound: journalBytes / 2 ** 20,
    firstTouch: touch,
  };
  if (journalOnly) {
    for (const line of journalLines) console.log(line);
    console.log(
      JSON.stringify({
        bench: "bridge",
        bridgeRoundMs: bridgeMs,
        ...journalFigures,
        samples: { bridge: times.bridge, bridgeNoJournal: times.bridgeNoJournal, cpu },
      }),
    );
    return;
  }
  const deploymentMs = median(times.deployment);
  const deploymentTlsMs = median(times.deploymentTls);
  const ratio = bridgeMs / deploymentMs;
  const ratioTls = bridgeMs / deploymentTlsMs;
  console.log(
    `native deployment round: ${deploymentMs.toFixed(0)} ms (over TLS: ${deploymentTlsMs.toFixed(0)} ms); through the bridge (mTLS): ${bridgeMs.toFixed(0)} ms`,
  );
  console.log(
    `bridge / deployment: ${ratio.toFixed(2)}; bridge / deployment over TLS: ${ratioTls.toFixed(2)} (goal: at most 1.10)`,
  );
  for (const line of journalLines) console.log(line);
  console.log(
    JSON.stringify({
      bench: "bridge",
      deploymentRoundMs: deploymentMs,
      deploymentTlsRoundMs: deploymentTlsMs,
      bridgeRoundMs: bridgeMs,
      ratio,
      ratioTls,
      ...journalFigures,
    }),
  );
}

/** Round times (ms) on the native deployment, leaving out round 1. */
async function deploymentRounds(rounds: number, tls?: SuperLinkTls): Promise<number[]> {
  const processes = new BenchProcesses();
  try {
    const { fleet, control } = await processes.superlink(tls);
    await processes.supernodes(fleet, NODES, tls);
    const ends: number[] = [];
    await runOnSuperLink({
      address: control,
      credentials: tls
        ? credentials.createSsl(await readFile(tls.caFile))
        : credentials.createInsecure(),
      appDir: APP,
      runConfig: { "num-server-rounds": rounds },
      observer: { ...silentObserver, roundFinished: () => ends.push(performance.now()) },
    });
    return ends.slice(1).map((t, i) => t - (ends[i] as number));
  } finally {
    processes.killAll();
  }
}

/**
 * Round times (ms) through the bridge, leaving out round 1, and the CPU seconds a round of the
 * server's and sites' processes (their job processes included); optionally without the journal.
 */
async function bridgeRounds(
  rounds: number,
  options = { journal: true },
): Promise<{ rounds: number[]; cpuPerRound: CpuShares; journalBytesPerRound: number }> {
  const processes = new BenchProcesses();
  const root = await mkdtemp(join(tmpdir(), "fedbridge-bench-bridge-"));
  // The runtime's processes inherit the environment: the server's job process reads this.
  if (!options.journal) process.env[JOURNAL_OFF_ENV] = "1";
  try {
    const { admin, serverPid, sitePids } = await processes.runtime(root, NODES);
    delete process.env[JOURNAL_OFF_ENV];
    const pids = [serverPid, ...sitePids];
    const before = cpuShares(serverPid, sitePids);
    const job = await submitApp(admin, resolve(APP), { "num-server-rounds": rounds });
    const ends: number[] = [];
    let last = 0;
    let journalBytes = 0;
    for await (const info of admin.client.waitJob({ id: job.id })) {
      if (info.round > last) {
        last = info.round;
        ends.push(performance.now());
        // Read as the job runs: a completed job's checkpoints are removed.
        journalBytes = filesUnder(root, "/checkpoints/journal/") / last;
      }
      if (info.status.startsWith("FINISHED") && info.status !== "FINISHED:COMPLETED")
        throw new Error(`bridged job ${info.status}: ${info.reason}`);
    }
    // A job process's CPU counts in its parent's once it has exited and been waited for.
    for (let i = 0; i < 300 && pids.some((pid) => procChildren(pid).length > 0); i++)
      await new Promise((r) => setTimeout(r, 100));
    return {
      rounds: ends.slice(1).map((t, i) => t - (ends[i] as number)),
      cpuPerRound: perRound(before, cpuShares(serverPid, sitePids), rounds),
      journalBytesPerRound: journalBytes,
    };
  } finally {
    delete process.env[JOURNAL_OFF_ENV];
    processes.killAll();
  }
}

/** CPU seconds of the runtime's processes (job processes included), in their code and in the kernel. */
interface CpuShares {
  serverUser: number;
  serverKernel: number;
  sitesUser: number;
  sitesKernel: number;
}

function cpuShares(serverPid: number, sitePids: readonly number[]): CpuShares {
  const of = (pid: number) => procCpuSplit(pid) ?? { user: Number.NaN, kernel: Number.NaN };
  const sites = sitePids.map(of);
  return {
    serverUser: of(serverPid).user,
    serverKernel: of(serverPid).kernel,
    sitesUser: sites.reduce((sum, s) => sum + s.user, 0),
    sitesKernel: sites.reduce((sum, s) => sum + s.kernel, 0),
  };
}

function perRound(before: CpuShares, after: CpuShares, rounds: number): CpuShares {
  const share = (key: keyof CpuShares) => (after[key] - before[key]) / rounds;
  return {
    serverUser: share("serverUser"),
    serverKernel: share("serverKernel"),
    sitesUser: share("sitesUser"),
    sitesKernel: share("sitesKernel"),
  };
}

function medianShares(all: readonly CpuShares[]): CpuShares {
  const of = (key: keyof CpuShares) => median(all.map((c) => c[key]));
  return {
    serverUser: of("serverUser"),
    serverKernel: of("serverKernel"),
    sitesUser: of("sitesUser"),
    sitesKernel: of("sitesKernel"),
  };
}

/** The bytes of the files under `root` whose path contains `part`. */
function filesUnder(root: string, part: string): number {
  let bytes = 0;
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && path.includes(part)) bytes += statSync(path).size;
  }
  return bytes;
}
