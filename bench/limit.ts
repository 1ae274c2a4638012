/**
 * The machine's own speed for a round's bytes: a float32 model out to 2 processes over
 * loopback TCP, every value changed there, and back, with no framework (bench/lib/limit.ts).
 * Data-plane benchmarks report their round time as a multiple of this, measured in the same
 * run. `BENCH_NODES` (default 2) and `BENCH_VALUES` (comma-separated model sizes, default
 * 10M, 100M, 250M float32) change the shape.
 */
import { physicalLimit } from "./lib/limit.ts";

export const description =
  "the physical limit of a round: a float32 model to N processes and back over bare TCP";

export async function run(): Promise<void> {
  const nodes = Number(process.env.BENCH_NODES ?? 2);
  const sizes = (process.env.BENCH_VALUES ?? "10000000,100000000,250000000").split(",").map(Number);
  console.log(`limit: a float32 model to ${nodes} processes, every value changed, and back`);
  for (const values of sizes) {
    const seconds = await physicalLimit({ values, nodes });
    const moved = (4 * values * nodes * 2) / 1e6;
    console.log(
      `  ${(values / 1e6).toFixed(0).padStart(4)}M float32 (${((4 * values) / 1e6).toFixed(0)} MB): ${seconds.toFixed(3)} s, ${(moved / seconds).toFixed(0)} MB/s over the loopback`,
    );
  }
}
