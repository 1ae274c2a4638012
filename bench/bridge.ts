/**
 * Round time through the bridge (the runtime: a server and 4 sites on loopback mTLS) divided by
 * round time on the native deployment (a SuperLink and 4 SuperNodes), for FedAvg over a 10M
 * float32 model (40 MB to and from every node each round), measured in the same run. Goal: at
 * most 1.10. The deployment runs twice: without TLS (Flower's --insecure), and over TLS, as the
 * runtime always is: the second ratio compares like with like. The three take turns
 * (`BENCH_REPEATS`, default 2, of `BENCH_ROUNDS` rounds, default 4); each figure is the median
 * time between consecutive round ends, leaving out each run's round 1.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { submitApp } from "../src/bridge/index.ts";
import { silentObserver } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";
import {
  type SuperLinkTls,
  writeSuperLinkTls,
} from "../src/flower-api/superlink/testing/superlink-tls.ts";
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
  };
  for (let i = 0; i < repeats; i++) {
    times.deployment.push(...(await deploymentRounds(rounds)));
    times.deploymentTls.push(...(await deploymentRounds(rounds, tls)));
    times.bridge.push(...(await bridgeRounds(rounds)));
  }
  const deploymentMs = median(times.deployment);
  const deploymentTlsMs = median(times.deploymentTls);
  const bridgeMs = median(times.bridge);
  const ratio = bridgeMs / deploymentMs;
  const ratioTls = bridgeMs / deploymentTlsMs;
  console.log(
    `native deployment round: ${deploymentMs.toFixed(0)} ms (over TLS: ${deploymentTlsMs.toFixed(0)} ms); through the bridge (mTLS): ${bridgeMs.toFixed(0)} ms`,
  );
  console.log(
    `bridge / deployment: ${ratio.toFixed(2)}; bridge / deployment over TLS: ${ratioTls.toFixed(2)} (goal: at most 1.10)`,
  );
  console.log(
    JSON.stringify({
      bench: "bridge",
      deploymentRoundMs: deploymentMs,
      deploymentTlsRoundMs: deploymentTlsMs,
      bridgeRoundMs: bridgeMs,
      ratio,
      ratioTls,
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

/** Round times (ms) through the bridge, leaving out round 1. */
async function bridgeRounds(rounds: number): Promise<number[]> {
  const processes = new BenchProcesses();
  const root = await mkdtemp(join(tmpdir(), "fedbridge-bench-bridge-"));
  try {
    const { admin } = await processes.runtime(root, NODES);
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
    return ends.slice(1).map((t, i) => t - (ends[i] as number));
  } finally {
    processes.killAll();
  }
}
