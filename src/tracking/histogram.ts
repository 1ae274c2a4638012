import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { Histogram } from "./tracking-event.ts";

/**
 * How values are bucketed: a number of equal-width buckets between the smallest and the largest
 * value, or "tensorflow", TensorFlow's fixed exponential buckets (±1e-12 · 1.1^k up to 1e20,
 * and 0), which PyTorch's `add_histogram` uses by default so histograms of different steps share
 * edges.
 */
export type HistogramBins = number | "tensorflow";

/** TensorFlow's default bucket edges, as PyTorch's `_default_bins` builds them. */
const TENSORFLOW_EDGES: Float64Array = (() => {
  const positive: number[] = [];
  for (let v = 1e-12; v < 1e20; v *= 1.1) positive.push(v);
  const negative = positive.map((v) => -v).reverse();
  return Float64Array.from([...negative, 0, ...positive]);
})();

/**
 * Buckets `values` as PyTorch's `make_histogram` does (numpy's histogram over the edges, then
 * trimmed to the buckets between the first and the last non-empty one, with one empty bucket
 * kept on the left so TensorBoard knows where the first bucket starts). Values outside the
 * edges of "tensorflow" bins (beyond ±1e20) count in min, max, num and sum but in no bucket.
 * Refuses an empty input or a non-finite value (`Code.InvalidArgument`).
 */
export function makeHistogram(
  values: ArrayLike<number>,
  bins: HistogramBins = "tensorflow",
): Histogram {
  if (values.length === 0) throw new FedbridgeError(Code.InvalidArgument, "histogram of no values");
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      throw new FedbridgeError(Code.InvalidArgument, `histogram value ${i} is ${v}, not finite`);
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
  }
  const edges = bins === "tensorflow" ? TENSORFLOW_EDGES : equalWidthEdges(min, max, bins);
  const counts = new Float64Array(edges.length - 1);
  for (let i = 0; i < values.length; i++) {
    const bucket = bucketOf(edges, values[i]);
    if (bucket >= 0) counts[bucket] += 1;
  }
  let first = counts.findIndex((c) => c > 0);
  let last = counts.findLastIndex((c) => c > 0);
  if (first < 0) {
    // Every value lay outside the edges: one empty bucket at the right edge.
    first = counts.length;
    last = counts.length - 1;
  }
  const bucketLimits = Array.from(edges.subarray(first, last + 2));
  const buckets =
    first > 0
      ? Array.from(counts.subarray(first - 1, last + 1))
      : [0, ...Array.from(counts.subarray(0, last + 1))];
  return { min, max, num: values.length, sum, sumSquares, bucketLimits, buckets };
}

/** numpy's edges for `bins` equal buckets over [min, max] (widened by 0.5 if they are equal). */
function equalWidthEdges(min: number, max: number, bins: number): Float64Array {
  if (!Number.isSafeInteger(bins) || bins < 1) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `histogram bins must be a positive integer or "tensorflow", got ${bins}`,
    );
  }
  const [lo, hi] = min === max ? [min - 0.5, max + 0.5] : [min, max];
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) edges[i] = lo + ((hi - lo) * i) / bins;
  edges[bins] = hi;
  return edges;
}

/** numpy's rule: bucket i holds [edges[i], edges[i+1]), the last one closed; -1 outside. */
function bucketOf(edges: Float64Array, v: number): number {
  const n = edges.length - 1;
  if (v < edges[0] || v > edges[n]) return -1;
  if (v === edges[n]) return n - 1;
  let lo = 0;
  let hi = n;
  // Invariant: edges[lo] <= v < edges[hi].
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= v) lo = mid;
    else hi = mid;
  }
  return lo;
}
