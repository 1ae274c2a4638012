import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/**
 * SecAgg+'s parameters, Flower's `SecAggPlusWorkflow` arguments in camelCase with Flower's
 * defaults. Higher `numShares` tolerates more dropouts at more cost; higher
 * `reconstructionThreshold` needs more colluding nodes to break privacy but tolerates fewer
 * dropouts: a round survives up to numShares − reconstructionThreshold dropouts among a
 * node's neighbours after key sharing.
 */
export interface SecAggPlusOptions {
  /**
   * Shares each node splits its secrets into, one per neighbour including itself: a count
   * (an integer above 2) or, at most 1, a fraction of the sampled nodes. Required, as in
   * Flower; at least the number of sampled nodes means every node is everyone's neighbour.
   */
  numShares: number;
  /**
   * Shares needed to reconstruct a secret: a count (an integer, at least 2, below a count
   * `numShares`) or, at most 1, a fraction of the shares. Required, as in Flower.
   */
  reconstructionThreshold: number;
  /** The largest weight (`weightedByKey` value) a node may report; larger ones fail. Default: 1000. */
  maxWeight?: number;
  /** Update values are clipped to [−clippingRange, clippingRange] before quantization. Default: 8. */
  clippingRange?: number;
  /** Quantized values are integers in [0, quantizationRange]. Default: 2^22. */
  quantizationRange?: number;
  /** Masks and sums are taken modulo this power of two, at most 2^32. Default: 2^32. */
  modulusRange?: number;
  /** Seconds to wait for each stage's replies. Default: the timeout the strategy passes. */
  timeout?: number;
  /** MetricRecord key of each node's weight (as the strategy's). Default: "num-examples". */
  weightedByKey?: string;
}

/** The options with their defaults set. */
export type ResolvedSecAggPlusOptions = Required<Omit<SecAggPlusOptions, "timeout">> &
  Pick<SecAggPlusOptions, "timeout">;

/** The parameters of one round, resolved for the number of nodes it samples. */
export interface RoundParameters {
  numShares: number;
  threshold: number;
}

/** Sets the defaults and checks the options; throws INVALID_ARGUMENT naming the bad one. */
export function resolveSecAggPlusOptions(options: SecAggPlusOptions): ResolvedSecAggPlusOptions {
  const resolved: ResolvedSecAggPlusOptions = {
    numShares: options.numShares,
    reconstructionThreshold: options.reconstructionThreshold,
    maxWeight: options.maxWeight ?? 1000,
    clippingRange: options.clippingRange ?? 8,
    quantizationRange: options.quantizationRange ?? 2 ** 22,
    modulusRange: options.modulusRange ?? 2 ** 32,
    weightedByKey: options.weightedByKey ?? "num-examples",
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  };
  const { numShares, reconstructionThreshold: threshold } = resolved;
  const fail = (message: string) => new FedbridgeError(Code.InvalidArgument, `SecAgg+: ${message}`);
  if (!(numShares > 0) || (numShares > 1 && (!Number.isInteger(numShares) || numShares <= 2))) {
    throw fail(`numShares must be an integer above 2 or a fraction in (0, 1], got ${numShares}`);
  }
  if (!(threshold > 0) || (threshold > 1 && !Number.isInteger(threshold))) {
    throw fail(
      `reconstructionThreshold must be an integer of at least 2 or a fraction in (0, 1], got ${threshold}`,
    );
  }
  if (threshold > 255) throw fail(`reconstructionThreshold must be at most 255, got ${threshold}`);
  if (threshold > 1 && numShares > 1 && threshold >= numShares) {
    throw fail(`reconstructionThreshold (${threshold}) must be less than numShares (${numShares})`);
  }
  if (!(resolved.maxWeight > 0))
    throw fail(`maxWeight must be positive, got ${resolved.maxWeight}`);
  if (!(resolved.clippingRange > 0) || !Number.isFinite(resolved.clippingRange)) {
    throw fail(`clippingRange must be positive, got ${resolved.clippingRange}`);
  }
  const { quantizationRange: t, modulusRange: m } = resolved;
  if (!Number.isInteger(t) || t <= 0) {
    throw fail(`quantizationRange must be a positive integer, got ${t}`);
  }
  if (!Number.isInteger(m) || m <= t || m > 2 ** 32 || !Number.isInteger(Math.log2(m))) {
    throw fail(
      `modulusRange must be a power of two above quantizationRange and at most 2^32, got ${m}`,
    );
  }
  if (resolved.timeout !== undefined && !(resolved.timeout > 0)) {
    throw fail(`timeout must be positive, got ${resolved.timeout}`);
  }
  return resolved;
}

/**
 * Resolves the shares and threshold for a round with `sampled` nodes, as Flower does: a
 * fraction of shares is rounded up to an odd count (at least 3, else every node), a
 * fraction of threshold is at least 2. Ring neighbourhoods have odd sizes, so an even count
 * below `sampled` grows by one. Returns a reason instead when the round cannot be secure.
 */
export function roundParameters(
  options: ResolvedSecAggPlusOptions,
  sampled: number,
): RoundParameters | string {
  if (sampled < 2) return `SecAgg+ needs at least 2 nodes, ${sampled} sampled`;
  let numShares: number;
  if (options.numShares <= 1) {
    numShares = Math.round(options.numShares * sampled);
    if (numShares <= 2) numShares = sampled;
  } else {
    numShares = options.numShares;
  }
  numShares = Math.min(numShares, sampled);
  if (numShares < sampled && numShares % 2 === 0) numShares += 1;
  const threshold =
    options.reconstructionThreshold <= 1
      ? Math.max(2, Math.round(options.reconstructionThreshold * numShares))
      : options.reconstructionThreshold;
  if (threshold > numShares) {
    return `reconstructionThreshold ${threshold} is more than the ${numShares} shares ${sampled} sampled nodes allow`;
  }
  if (sampled * options.quantizationRange >= options.modulusRange) {
    return `the sum of ${sampled} quantized updates could overflow modulusRange (${sampled} × quantizationRange ${options.quantizationRange} ≥ ${options.modulusRange})`;
  }
  return { numShares, threshold };
}
