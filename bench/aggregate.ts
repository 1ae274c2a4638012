/**
 * FedAvg over 10 clients × 10M float32, against the speed of memory.
 *
 * The baseline is `Float32Array.set` copying a 10M float32 array (each client's in turn, so the
 * source comes from memory as the kernel's inputs do), in bytes read per second. The kernel's
 * throughput is the client input it consumes per second (10 × 40 MB per aggregation). The
 * runtime's fold (addScaledFloat32, one client at a time, ScatterAndGather's order) is measured
 * the same way, afterwards, against a baseline of its own. Runs alternate between the baseline
 * and the kernels, after a warm-up, and each figure is the median of the repetitions
 * (`BENCH_REPS`, default 7).
 */
import {
  addScaledFloat32,
  hasWasmSimd,
  weightedSumFloat32,
  weightedSumFloat32Js,
} from "../src/core/numeric/weighted-sum.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";

export const description = "FedAvg kernel (10 clients × 10M float32) vs Float32Array.set copy";

const clients = 10;
const floats = 10_000_000;

export function run(): void {
  const reps = Number(process.env.BENCH_REPS ?? 7);
  const inputs = Array.from({ length: clients }, (_, c) => fill(new Float32Array(floats), c + 1));
  const weights = Array.from({ length: clients }, (_, c) => (c + 1) / 55);
  const out = new Float32Array(floats);
  const copy = new Float32Array(floats);
  const inputBytes = clients * floats * 4;

  const baseline = () => {
    for (const input of inputs) copy.set(input);
  };
  const simd = () => weightedSumFloat32(inputs, weights, out);
  const js = () => weightedSumFloat32Js(inputs, weights, out);
  const fold = () => {
    out.fill(0);
    // Raw weights (example counts), as ScatterAndGather folds them.
    for (const [c, input] of inputs.entries()) addScaledFloat32(out, input, c + 1);
  };

  if (!hasWasmSimd()) console.log("aggregate: no WebAssembly SIMD here; the kernel runs in JS");
  const expected = weightedSumFloat32Js(inputs, weights).slice();
  simd();
  if (!sameBits(expected, out)) throw new Error("aggregate: SIMD and JS sums differ");

  // The FedAvg kernels first, as this bench has always run them; then the runtime's fold
  // against a baseline of its own, so that adding it changed none of the earlier figures.
  const [baselineGBps, simdGBps, jsGBps] = alternate(reps, inputBytes, [baseline, simd, js]);
  const [foldBaselineGBps, foldGBps] = alternate(reps, inputBytes, [baseline, fold]);
  const line = (label: string, gbps: number, ratio?: number) =>
    console.log(
      `  ${label.padEnd(28)} ${gbps.toFixed(2).padStart(6)} GB/s` +
        (ratio === undefined ? "" : `   ${ratio.toFixed(2)} × baseline`),
    );
  console.log(
    `aggregate: FedAvg of ${clients} clients × ${floats.toLocaleString("en")} float32, median of ${reps}`,
  );
  line("baseline (Float32Array.set)", baselineGBps);
  line("SIMD kernel (WebAssembly)", simdGBps, simdGBps / baselineGBps);
  line("JS fallback", jsGBps, jsGBps / baselineGBps);
  line("runtime fold (JS, float64)", foldGBps, foldGBps / foldBaselineGBps);
  console.log(
    JSON.stringify({
      bench: "aggregate",
      baselineGBps: round(baselineGBps),
      simdGBps: round(simdGBps),
      jsGBps: round(jsGBps),
      foldGBps: round(foldGBps),
      simdRatio: round(simdGBps / baselineGBps),
      jsRatio: round(jsGBps / baselineGBps),
      foldRatio: round(foldGBps / foldBaselineGBps),
    }),
  );
}

/**
 * The median throughput of each kernel over `reps` rounds (after one to warm up), in GB/s of
 * input; the order rotates so that no kernel always follows the same one.
 */
function alternate(reps: number, bytes: number, kernels: readonly (() => void)[]): number[] {
  const samples = kernels.map((): number[] => []);
  for (let r = -1; r < reps; r++) {
    for (let i = 0; i < kernels.length; i++) {
      const k = (i + r + kernels.length) % kernels.length;
      const seconds = time(kernels[k] as () => void);
      if (r >= 0) samples[k]?.push(bytes / seconds / 1e9);
    }
  }
  return samples.map(median);
}

function time(f: () => void): number {
  const start = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Fills with values in [-1, 1) from a cheap LCG; the kernel's speed does not depend on them. */
function fill(array: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < array.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    array[i] = s / 2 ** 31 - 1;
  }
  return array;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
