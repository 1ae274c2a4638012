/**
 * Simulation at scale: examples/quickstart with 10,000 virtual nodes, 1% of them sampled a
 * round, against a baseline measured in the same run: 100 nodes, all of them sampled (the same
 * ClientApp work per round). The ratio is what a large population costs by itself. Prints the
 * median round, peak RSS and the RSS slope per 100 rounds after warm-up (`BENCH_NODES`,
 * `BENCH_ROUNDS`, `BENCH_FRACTION` change the shape). Run with NODE_OPTIONS=--expose-gc for a
 * slope of live memory.
 */
import { runSimulation } from "../src/flower-api/simulation/run-simulation.ts";

export const description =
  "simulation: 10,000 virtual nodes at fractionTrain 0.01 vs 100 nodes all sampled; round time and RSS";

interface Measured {
  medianRoundS: number;
  peakRssMb: number;
  rssSlopeMbPer100Rounds: number;
}

export async function run(): Promise<void> {
  const nodes = Number(process.env.BENCH_NODES ?? 10_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 30);
  const fraction = Number(process.env.BENCH_FRACTION ?? 0.01);
  const sampled = Math.round(nodes * fraction);
  const baseline = await simulate(sampled, 1, rounds);
  const large = await simulate(nodes, fraction, rounds);
  const row = (name: string, m: Measured) =>
    `  ${name.padEnd(34)} round ${(m.medianRoundS * 1000).toFixed(0).padStart(5)} ms   peak RSS ${m.peakRssMb.toFixed(0).padStart(5)} MB   RSS slope ${m.rssSlopeMbPer100Rounds.toFixed(1).padStart(6)} MB / 100 rounds`;
  console.log(`sim-scale: examples/quickstart, ${rounds} rounds, ${sampled} ClientApps a round`);
  console.log(row(`${sampled} nodes, all sampled`, baseline));
  console.log(row(`${nodes} nodes, fraction ${fraction}`, large));
  console.log(
    `  ${nodes} nodes / ${sampled} nodes: round ×${(large.medianRoundS / baseline.medianRoundS).toFixed(2)} (goal: peak RSS under 2048 MB, flat slope)`,
  );
  console.log(JSON.stringify({ bench: "sim-scale", nodes, fraction, rounds, baseline, large }));
}

async function simulate(numNodes: number, fraction: number, rounds: number): Promise<Measured> {
  const roundTimes: number[] = [];
  const rss: number[] = [];
  let peak = 0;
  let started = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  try {
    await runSimulation({
      appDir: "examples/quickstart",
      numNodes,
      seed: 7,
      runConfig: {
        "num-server-rounds": rounds,
        "fraction-train": fraction,
        "fraction-evaluate": fraction,
      },
      observer: {
        roundStarted: () => {
          started = performance.now();
        },
        roundFinished: () => {
          roundTimes.push((performance.now() - started) / 1000);
          // With --expose-gc the slope is of live memory, not of garbage not yet collected.
          (globalThis as { gc?: () => void }).gc?.();
          rss.push(process.memoryUsage().rss);
        },
        log: () => {},
      },
    });
  } finally {
    clearInterval(sampler);
  }
  const sorted = [...roundTimes].sort((a, b) => a - b);
  return {
    medianRoundS: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    peakRssMb: Math.max(peak, ...rss) / 2 ** 20,
    rssSlopeMbPer100Rounds: (slope(rss.slice(Math.floor(rss.length / 3))) * 100) / 2 ** 20,
  };
}

/** Least-squares slope of `values` against their index. */
function slope(values: number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}
