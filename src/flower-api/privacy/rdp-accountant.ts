import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/**
 * The RDP orders (α) searched for the best (ε, δ) conversion: those of TF-Privacy's
 * `compute_dp_sgd_privacy`.
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  1.25,
  1.5,
  1.75,
  2,
  2.25,
  2.5,
  3,
  3.5,
  4,
  4.5,
  ...Array.from({ length: 59 }, (_, i) => 5 + i),
  128,
  256,
  512,
]);

/** An (ε, δ) guarantee and the RDP order that gave it. */
export interface PrivacySpent {
  epsilon: number;
  delta: number;
  /** The order α at which the conversion was tightest. */
  order: number;
}

/**
 * The Rényi DP of the sampled Gaussian mechanism (Poisson sampling with rate `q`, noise
 * multiplier `noiseMultiplier`) composed `steps` times, at each order: Mironov, Talwar and
 * Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (2019,
 * https://arxiv.org/abs/1908.10530), computed as Google's dp_accounting (TF-Privacy's
 * accountant) does. An order whose series does not converge gets Infinity.
 */
export function computeRdp(
  q: number,
  noiseMultiplier: number,
  steps: number,
  orders: readonly number[] = DEFAULT_RDP_ORDERS,
): number[] {
  if (!(q >= 0 && q <= 1))
    throw new FedbridgeError(Code.InvalidArgument, `sampling rate must be in [0, 1]; got ${q}`);
  if (!(noiseMultiplier >= 0)) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `noise multiplier must be non-negative; got ${noiseMultiplier}`,
    );
  }
  return orders.map((alpha) => {
    if (!(alpha > 1))
      throw new FedbridgeError(Code.InvalidArgument, `RDP orders must be > 1; got ${alpha}`);
    if (q === 0) return 0;
    if (alpha === Number.POSITIVE_INFINITY || noiseMultiplier === 0)
      return Number.POSITIVE_INFINITY;
    if (q === 1) return (steps * alpha) / (2 * noiseMultiplier ** 2);
    const logA = Number.isInteger(alpha)
      ? logAInt(q, noiseMultiplier, alpha)
      : logAFrac(q, noiseMultiplier, alpha);
    return (steps * logA) / (alpha - 1);
  });
}

/**
 * The tightest ε for `delta` from RDP values: ε = r + ln(1 − 1/α) − ln(δα)/(α − 1)
 * (Balle et al. 2020, https://arxiv.org/abs/2004.00010, Proposition 12; Opacus's and
 * dp_accounting's conversion), with dp_accounting's shortcut to ε = 0 when the KL bound
 * already gives δ.
 */
export function getPrivacySpent(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): PrivacySpent {
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `need one RDP value per order; got ${rdp.length} values for ${orders.length} orders`,
    );
  }
  if (!(delta > 0 && delta < 1))
    throw new FedbridgeError(Code.InvalidArgument, `delta must be in (0, 1); got ${delta}`);
  let best = { epsilon: Number.POSITIVE_INFINITY, order: orders[0] as number };
  orders.forEach((alpha, i) => {
    const r = rdp[i] as number;
    let epsilon: number;
    if (r < 0 || delta ** 2 + Math.expm1(-r) > 0) epsilon = 0;
    else if (alpha > 1.01)
      epsilon = r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
    else epsilon = Number.POSITIVE_INFINITY;
    if (epsilon < best.epsilon) best = { epsilon, order: alpha };
  });
  return { epsilon: Math.max(0, best.epsilon), delta, order: best.order };
}

/**
 * Composes sampled Gaussian mechanisms, one `step` each (a round of a DP strategy), and
 * reports what they spent together, as Opacus's `RDPAccountant`.
 */
export interface RdpAccountant {
  /** Adds one run of the mechanism: noise multiplier and sampling rate of that step. */
  step(noiseMultiplier: number, samplingRate: number): void;
  /** The (ε, δ) of all steps so far, for `delta`; ε = 0 before any step. */
  getPrivacySpent(delta: number): PrivacySpent;
  /** Steps so far. */
  readonly steps: number;
}

/** Creates an empty RdpAccountant that searches `orders` (default `DEFAULT_RDP_ORDERS`). */
export function createRdpAccountant(orders: readonly number[] = DEFAULT_RDP_ORDERS): RdpAccountant {
  // Runs of equal steps, as Opacus keeps its history: (σ, q, count).
  const history: { noiseMultiplier: number; samplingRate: number; count: number }[] = [];
  return {
    step(noiseMultiplier, samplingRate) {
      const last = history.at(-1);
      if (last?.noiseMultiplier === noiseMultiplier && last.samplingRate === samplingRate)
        last.count++;
      else history.push({ noiseMultiplier, samplingRate, count: 1 });
    },
    getPrivacySpent(delta) {
      if (history.length === 0) return { epsilon: 0, delta, order: 0 };
      const total = orders.map(() => 0);
      for (const { noiseMultiplier, samplingRate, count } of history) {
        computeRdp(samplingRate, noiseMultiplier, count, orders).forEach((r, i) => {
          total[i] = (total[i] as number) + r;
        });
      }
      return getPrivacySpent(orders, total, delta);
    },
    get steps() {
      return history.reduce((sum, run) => sum + run.count, 0);
    },
  };
}

/** ln(A_α) for an integer α: a finite binomial sum (Mironov et al. 2019, §3.3). */
function logAInt(q: number, sigma: number, alpha: number): number {
  const log1mq = Math.log1p(-q);
  let logA = Number.NEGATIVE_INFINITY;
  for (let i = 0; i <= alpha; i++) {
    const logCoef = logComb(alpha, i) + i * Math.log(q) + (alpha - i) * log1mq;
    logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma ** 2));
  }
  return logA;
}

/** Terms dp_accounting sums at most for a fractional α before it gives up (Infinity). */
const MAX_STEPS_LOG_A_FRAC = 1000;

/**
 * ln(A_α) for a fractional α: the two half-line integrals as series (Mironov et al. 2019,
 * §3.3), summing the terms' magnitudes as dp_accounting does, which bounds A_α from above.
 */
function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = Number.NEGATIVE_INFINITY;
  let logA1 = Number.NEGATIVE_INFINITY;
  const z0 = sigma ** 2 * Math.log(1 / q - 1) + 0.5;
  const log1mq = Math.log1p(-q);
  let lastS0 = Number.NEGATIVE_INFINITY;
  let lastS1 = Number.NEGATIVE_INFINITY;
  let logCoef = 0; // ln|binom(α, i)|, updated term by term
  for (let i = 0; i < MAX_STEPS_LOG_A_FRAC; i++) {
    if (i > 0) logCoef += Math.log(Math.abs(alpha - i + 1)) - Math.log(i);
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * log1mq;
    const logT1 = logCoef + j * Math.log(q) + i * log1mq;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma ** 2) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma ** 2) + logE1;
    logA0 = logAdd(logA0, logS0);
    logA1 = logAdd(logA1, logS1);
    const total = logAdd(logA0, logA1);
    // Stop once both terms decrease and are negligible (e^-30) next to the sum.
    if (logS0 < lastS0 && logS1 < lastS1 && Math.max(logS0, logS1) < total - 30) return total;
    lastS0 = logS0;
    lastS1 = logS1;
  }
  return Number.POSITIVE_INFINITY;
}

/** ln(e^x + e^y) without overflow. */
function logAdd(x: number, y: number): number {
  const [a, b] = x < y ? [x, y] : [y, x];
  if (a === Number.NEGATIVE_INFINITY) return b;
  return Math.log1p(Math.exp(a - b)) + b;
}

const logFactorials: number[] = [0];

/** ln(n!) for an integer n, from a table of running sums of logarithms. */
function logFactorial(n: number): number {
  for (let k = logFactorials.length; k <= n; k++)
    logFactorials.push((logFactorials[k - 1] as number) + Math.log(k));
  return logFactorials[n] as number;
}

/** ln binom(n, k) for integers 0 ≤ k ≤ n. */
function logComb(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/**
 * ln(erfc(x)) to near double precision for any x, also where erfc(x) underflows: the Taylor
 * series of erf for |x| < 2.5, Laplace's continued fraction (Lentz's method) for
 * erfc(x)·e^(x²) beyond, and erfc(x) = 2 − erfc(−x) for x ≤ −2.5.
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= -2.5) return Math.log(2 - Math.exp(logErfc(-x)));
  if (x < 2.5) return Math.log1p(-erfSeries(x));
  if (x === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 10_000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = 1 / (d === 0 ? tiny : d);
    c = x + a / (c === 0 ? tiny : c);
    const step = c * d;
    f *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return -x * x - 0.5 * Math.log(Math.PI) - Math.log(f);
}

/** erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)), for |x| < 2.5 (terms ≤ 16: ~1e-15 error). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x; // (−1)ⁿ x^(2n+1) / n!
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
