/**
 * fedbridge and a real Flower 1.28 side by side on the same app: FedAvg over 2 nodes, every
 * value changed by the nodes (bench/apps/fedavg-10m and its Python twin bench/apps/pyfedavg),
 * for a tiny, a 10M, a 100M and (BENCH_SIZES=…,1G) a 250M float32 model. For each size the two
 * systems take turns (at 1 GB, where both would not fit in memory, each runs alone on fresh
 * processes, one after the other), and the physical limit of the same bytes (bench/lib/limit.ts)
 * is measured in the same run. Flower's round time is (T(R) - T(1)) / (R - 1) of whole runs
 * of R and 1 rounds, so start-up (Python imports, app install, the final model's return)
 * cancels out; ours is the median of its rounds after the first, from the run's events. Peak RSS and
 * CPU come from sampling every process of each side (Flower's ServerApp and ClientApp
 * processes are children of its SuperLink and SuperNodes). Without FEDBRIDGE_FLOWER_BIN it
 * measures our side and the limit alone.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { silentObserver } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";
import {
  flowerBin,
  flwr,
  flwrHome,
  killFlower,
  SKIP_NO_FLOWER,
  startFlowerSuperLink,
  startFlowerSuperNode,
} from "../test/flower-peer.ts";
import { physicalLimit } from "./lib/limit.ts";
import { procStatusBytes } from "./lib/proc.ts";
import { ProcessTrees, type TreeUsage } from "./lib/process-trees.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "fedbridge vs a real Flower 1.28, same FedAvg app, 2 nodes: s/round, peak RSS, CPU; tiny to 1 GB, vs the limit";

/** A model of `arrays` float32 arrays of `floats` values each. */
interface Size {
  arrays: number;
  floats: number;
  /**
   * Run one side at a time, each afresh: both sides' processes keep the memory their last run
   * grew them to, and at 1 GB the two together do not fit a 24 GiB machine (the kernel's OOM
   * killer ended our SuperLink beside an idle Flower).
   */
  oneSideAtATime?: boolean;
}

const SIZES: Record<string, Size> = {
  tiny: { arrays: 1, floats: 1_000 },
  "10M": { arrays: 10, floats: 1_000_000 },
  "100M": { arrays: 100, floats: 1_000_000 },
  "1G": { arrays: 250, floats: 1_000_000, oneSideAtATime: true },
};

/** One system's figures for one size. */
interface Side {
  /** Seconds a round. */
  round: number;
  /** Server side (SuperLink and ServerApp) and the largest node, over the R-round run. */
  server: TreeUsage;
  node: TreeUsage;
  /** CPU seconds a round, server side and both nodes together. */
  serverCpu: number;
  nodesCpu: number;
  /** The final model's last array's first value: both systems must agree. */
  result: number;
}

/** A system's run of `rounds` rounds: how long it took, what it used, each round's ms. */
type RunFor = (rounds: number) => Promise<RunResult>;
interface RunResult {
  ms: number;
  usage: Record<string, TreeUsage>;
  result: number;
  roundMs?: number[];
}

export async function run(): Promise<void> {
  const roundsOfModel = Number(process.env.BENCH_ROUNDS ?? 3);
  const names = (process.env.BENCH_SIZES ?? "tiny,10M,100M").split(",");
  for (const name of names)
    if (SIZES[name] === undefined)
      throw new Error(`vs-flower: no size "${name}"; there are ${Object.keys(SIZES).join(", ")}`);
  if (flowerBin === undefined)
    console.log(
      `vs-flower: Flower's side ${SKIP_NO_FLOWER} (set FEDBRIDGE_FLOWER_BIN); ours alone`,
    );

  const pyApp = await mkdtemp(join(tmpdir(), "bench-vs-flower-"));
  await cp("bench/apps/pyfedavg", pyApp, { recursive: true });
  // Each side's deployment starts when a size first needs it; a size run one side at a time
  // stops both first, and each side after its runs.
  let oursNow: Deployment | undefined;
  let flowerNow: Deployment | undefined;
  const startOurs = async () => {
    oursNow ??= await ourDeployment();
    return oursNow;
  };
  const startFlower = async () => {
    if (flowerBin !== undefined) flowerNow ??= await flowerDeployment(pyApp);
    return flowerNow;
  };
  const stopBoth = () => {
    oursNow?.stop();
    flowerNow?.stop();
    oursNow = flowerNow = undefined;
  };
  try {
    const rows: string[] = [];
    for (const name of names) {
      const size = SIZES[name] as Size;
      const values = size.arrays * size.floats;
      // A tiny round is short beside a run's start-up: more rounds, so the difference shows.
      const rounds = values < 1_000_000 ? 10 * roundsOfModel : roundsOfModel;
      const modelMb = (values * 4) / 2 ** 20;
      console.log(`\n${name}: ${size.arrays} × ${size.floats} float32 (${modelMb.toFixed(1)} MB)`);
      const limit = await physicalLimit({ values, nodes: 2 });
      console.log(`  the limit (same bytes, bare TCP): ${limit.toFixed(3)} s`);
      let one: { ours: RunResult; flower: RunResult | undefined };
      let many: typeof one;
      let idle: Idle;
      if (size.oneSideAtATime) {
        // Both sides' processes would not fit in memory together: each runs alone, afresh.
        stopBoth();
        const ours = await startOurs();
        idle = ours.idle;
        const [oursOne, oursMany] = await runsOf(ours.runFor(size), rounds);
        stopBoth();
        const flower = await startFlower();
        const [flowerOne, flowerMany] = flower ? await runsOf(flower.runFor(size), rounds) : [];
        stopBoth();
        one = { ours: oursOne, flower: flowerOne };
        many = { ours: oursMany, flower: flowerMany };
      } else {
        // Taking turns: each system's 1-round run, then each one's R-round run, after a
        // 1-round run of each that is not counted: nodes load the app on their first run, and
        // a process's first run of a larger model grows its memory, which on these VMs costs
        // more than the round (see BENCHMARKS, "limit").
        const ours = await startOurs();
        idle = ours.idle;
        const oursRun = ours.runFor(size);
        const flowerRun = (await startFlower())?.runFor(size);
        await oursRun(1);
        await flowerRun?.(1);
        one = { ours: await oursRun(1), flower: await flowerRun?.(1) };
        many = { ours: await oursRun(rounds), flower: await flowerRun?.(rounds) };
      }
      const oursSide = side(one.ours, many.ours, rounds);
      const flowerSide = one.flower && many.flower && side(one.flower, many.flower, rounds);
      if (flowerSide && flowerSide.result !== oursSide.result)
        throw new Error(
          `vs-flower: the two systems disagree: Flower's model ${flowerSide.result}, ours ${oursSide.result}`,
        );
      report(name, modelMb, limit, oursSide, idle, flowerSide);
      rows.push(row(name, limit, oursSide, flowerSide));
      console.log(
        JSON.stringify({
          bench: "vs-flower",
          size: name,
          values,
          rounds,
          limit,
          ours: oursSide,
          flower: flowerSide,
          idle,
        }),
      );
    }
    console.log(
      "\n| model | limit | Flower s/round | ours s/round | speed-up | ours / limit | server peak RSS, Flower / ours | node peak RSS, Flower / ours | CPU-s a round, Flower / ours |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const line of rows) console.log(line);
  } finally {
    stopBoth();
    killFlower();
    await rm(pyApp, { recursive: true, force: true });
  }
}

/** An uncounted 1-round run (nodes load the app), then a 1-round and an R-round run. */
async function runsOf(run: RunFor, rounds: number): Promise<[RunResult, RunResult]> {
  await run(1);
  return [await run(1), await run(rounds)];
}

type Idle = { server: number; node: number };

/** One side's SuperLink and 2 SuperNodes, running. */
interface Deployment {
  runFor: (size: Size) => RunFor;
  /** Resident memory of its server and of a node before any run. */
  idle: Idle;
  stop: () => void;
}

/** Our SuperLink (with the TypeScript ServerApp) and 2 `fedbridge supernode`s. */
async function ourDeployment(): Promise<Deployment> {
  const processes = new BenchProcesses();
  const superlink = await processes.superlink();
  const nodes = await processes.supernodes(superlink.fleet, 2);
  const idle = {
    server: procStatusBytes(superlink.pid, "VmRSS") ?? Number.NaN,
    node: procStatusBytes(nodes[0] as number, "VmRSS") ?? Number.NaN,
  };
  const runFor =
    (size: Size): RunFor =>
    async (r) => {
      const trees = new ProcessTrees({
        server: [superlink.pid],
        node0: [nodes[0] as number],
        node1: [nodes[1] as number],
      });
      const roundMs: number[] = [];
      let roundStart = 0;
      const t = performance.now();
      const { result } = await runOnSuperLink({
        address: superlink.control,
        credentials: credentials.createInsecure(),
        appDir: "bench/apps/fedavg-10m",
        runConfig: {
          "num-server-rounds": r,
          "num-arrays": size.arrays,
          "floats-per-array": size.floats,
          "min-available-nodes": 2,
        },
        observer: {
          ...silentObserver,
          roundStarted: () => {
            roundStart = performance.now();
          },
          roundFinished: () => {
            roundMs.push(performance.now() - roundStart);
          },
        },
      });
      const ms = performance.now() - t;
      const last = [...(result?.arrays.values() ?? [])].at(-1)?.toTypedArray()[0];
      return { ms, usage: trees.stop(), result: Number(last), roundMs };
    };
  return { runFor, idle, stop: () => processes.killAll() };
}

/** Flower's SuperLink (its Python ServerApp through `flwr run`) and 2 `flower-supernode`s. */
async function flowerDeployment(pyApp: string): Promise<Deployment> {
  const link = await startFlowerSuperLink();
  const flowerNodes = [
    await startFlowerSuperNode(link.fleet, 0, 2),
    await startFlowerSuperNode(link.fleet, 1, 2),
  ];
  const home = await flwrHome(link.control);
  const pid = (p: { child: { pid?: number | undefined } }) => p.child.pid as number;
  const idle = {
    server: procStatusBytes(pid(link.process), "VmRSS") ?? Number.NaN,
    node: procStatusBytes(pid(flowerNodes[0] as typeof link.process), "VmRSS") ?? Number.NaN,
  };
  const runFor =
    (size: Size): RunFor =>
    async (r) => {
      const trees = new ProcessTrees({
        server: [pid(link.process)],
        node0: [pid(flowerNodes[0] as typeof link.process)],
        node1: [pid(flowerNodes[1] as typeof link.process)],
      });
      const t = performance.now();
      const config = `num-server-rounds=${r} num-arrays=${size.arrays} floats-per-array=${size.floats}`;
      const args = ["run", ".", "fb", "--stream", "--run-config", config];
      const { code, output } = await flwr(args, home, pyApp, 3_600_000);
      const ms = performance.now() - t;
      const result = output.match(/PYFEDAVG_RESULT (\S+)/)?.[1];
      if (code !== 0 || result === undefined)
        throw new Error(`flwr run on Flower's SuperLink failed:\n${output}`);
      return { ms, usage: trees.stop(), result: Number(result) };
    };
  return { runFor, idle, stop: killFlower };
}

function side(
  one: Awaited<ReturnType<RunFor>>,
  many: Awaited<ReturnType<RunFor>>,
  rounds: number,
): Side {
  const per = (a: number, b: number) => (b - a) / (rounds - 1);
  const cpu = (usage: Record<string, TreeUsage>, group: string) =>
    (usage[group] as TreeUsage).cpuSeconds;
  const nodes = (u: Record<string, TreeUsage>) => cpu(u, "node0") + cpu(u, "node1");
  const [node0, node1] = [many.usage.node0 as TreeUsage, many.usage.node1 as TreeUsage];
  // Our rounds are timed from the run's round events (median of rounds 2 on: the first starts
  // the run's ClientApp threads): at 20 ms a round, the runs' start-up varies by more than
  // the rounds they differ by. Flower's rounds (seconds) are timed by the difference of runs.
  const timed = many.roundMs?.slice(1) ?? [];
  return {
    round: timed.length > 0 ? median(timed) / 1000 : per(one.ms, many.ms) / 1000,
    server: many.usage.server as TreeUsage,
    node: node0.peakRss >= node1.peakRss ? node0 : node1,
    serverCpu: per(cpu(one.usage, "server"), cpu(many.usage, "server")),
    nodesCpu: per(nodes(one.usage), nodes(many.usage)),
    result: many.result,
  };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

function report(
  name: string,
  modelMb: number,
  limit: number,
  ours: Side,
  idle: { server: number; node: number },
  flower: Side | undefined,
): void {
  const overModel = (peak: number, idleBytes: number) =>
    ((peak - idleBytes) / 2 ** 20 / modelMb).toFixed(1);
  for (const [label, s] of [
    ["Flower", flower],
    ["ours", ours],
  ] as const) {
    if (s === undefined) continue;
    console.log(
      `  ${label.padEnd(6)}: ${s.round.toFixed(3)} s a round (${(s.round / limit).toFixed(1)}× the limit); ` +
        `server side peak RSS ${mb(s.server.peakRss)} (${s.server.processes} processes), a node ${mb(s.node.peakRss)}; ` +
        `CPU a round: server ${s.serverCpu.toFixed(2)} s, nodes ${s.nodesCpu.toFixed(2)} s`,
    );
  }
  if (modelMb >= 1)
    console.log(
      `  ours over idle, in models: server ${overModel(ours.server.peakRss, idle.server)}×, a node ${overModel(ours.node.peakRss, idle.node)}×`,
    );
  if (flower)
    console.log(`  ${name}: ours is ${(flower.round / ours.round).toFixed(1)}× faster than Flower`);
}

function row(name: string, limit: number, ours: Side, flower: Side | undefined): string {
  const f = (s: Side | undefined, pick: (s: Side) => string) => (s ? pick(s) : "—");
  return `| ${name} | ${limit.toFixed(3)} s | ${f(flower, (s) => `${s.round.toFixed(3)} s`)} | ${ours.round.toFixed(3)} s | ${f(flower, (s) => `${(s.round / ours.round).toFixed(1)}×`)} | ${(ours.round / limit).toFixed(1)} | ${f(flower, (s) => mb(s.server.peakRss))} / ${mb(ours.server.peakRss)} | ${f(flower, (s) => mb(s.node.peakRss))} / ${mb(ours.node.peakRss)} | ${f(flower, (s) => (s.serverCpu + s.nodesCpu).toFixed(1))} / ${(ours.serverCpu + ours.nodesCpu).toFixed(1)} |`;
}
