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
 * the load disturbs less. `BENCH_JOURNAL_ONLY=1` runs only those two, for the journal's figure.
 */
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
import { procChildren, procCpuSeconds } from "./lib/proc.ts";
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
  const cpu = { bridge: [] as number[], bridgeNoJournal: [] as number[] };
  const journalOnly = process.env.BENCH_JOURNAL_ONLY === "1";
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
  const cpuS = median(cpu.bridge);
  const cpuNoJournalS = median(cpu.bridgeNoJournal);
  const cpuRatio = cpuS / cpuNoJournalS;
  const journalLines = [
    `bridged round with its reply journal: ${bridgeMs.toFixed(0)} ms, without: ${bridgeNoJournalMs.toFixed(0)} ms; with / without: ${journalRatio.toFixed(3)} (goal: at most 1.05)`,
    `  CPU a round (server, sites and their job processes): ${cpuS.toFixed(2)} s with the journal, ${cpuNoJournalS.toFixed(2)} s without; with / without: ${cpuRatio.toFixed(3)}`,
  ];
  const journalFigures = {
    bridgeNoJournalRoundMs: bridgeNoJournalMs,
    journalRatio,
    cpuPerRoundS: cpuS,
    cpuNoJournalPerRoundS: cpuNoJournalS,
    journalCpuRatio: cpuRatio,
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
): Promise<{ rounds: number[]; cpuPerRound: number }> {
  const processes = new BenchProcesses();
  const root = await mkdtemp(join(tmpdir(), "fedbridge-bench-bridge-"));
  // The runtime's processes inherit the environment: the server's job process reads this.
  if (!options.journal) process.env[JOURNAL_OFF_ENV] = "1";
  try {
    const { admin, serverPid, sitePids } = await processes.runtime(root, NODES);
    delete process.env[JOURNAL_OFF_ENV];
    const pids = [serverPid, ...sitePids];
    const cpuNow = () => pids.reduce((sum, pid) => sum + (procCpuSeconds(pid) ?? Number.NaN), 0);
    const cpuBefore = cpuNow();
    const job = await submitApp(admin, resolve(APP), { "num-server-rounds": rounds });
    const ends: number[] = [];
    let last = 0;
    for await (const info of admin.client.waitJob({ id: job.id })) {
      if (info.round > last) {
        last = info.round;
        ends.push(performance.now());
      }
      if (info.status.startsWith("FINISHED") && info.status !== "FINISHED:COMPLETED")
        throw new Error(`bridged job ${info.status}: ${info.reason}`);
    }
    // A job process's CPU counts in its parent's once it has exited and been waited for.
    for (let i = 0; i < 300 && pids.some((pid) => procChildren(pid).length > 0); i++)
      await new Promise((r) => setTimeout(r, 100));
    return {
      rounds: ends.slice(1).map((t, i) => t - (ends[i] as number)),
      cpuPerRound: (cpuNow() - cpuBefore) / rounds,
    };
  } finally {
    delete process.env[JOURNAL_OFF_ENV];
    processes.killAll();
  }
}
