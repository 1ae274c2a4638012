/**
 * How long a site waits before dialing again: exponential, capped, and jittered so a
 * hundred sites cut off by the same outage do not all dial the server in the same instant.
 */

export interface BackoffOptions {
  /** The first wait, in ms. Default: 250. */
  initialMs?: number;
  /** No wait is longer, in ms. Default: 30,000. */
  maxMs?: number;
  /** Each failed attempt multiplies the wait by this. Default: 2. */
  multiplier?: number;
  /**
   * The share of each wait that is random: the wait is drawn from
   * [(1 - jitter) × w, w]. Default: 0.5 ("equal jitter").
   */
  jitter?: number;
}

const DEFAULTS: Required<BackoffOptions> = {
  initialMs: 250,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 0.5,
};

/**
 * The wait before attempt `attempt` (0 for the first retry after a drop).
 *
 * @example
 * backoffDelay(0); // 125..250 ms
 * backoffDelay(20); // 15..30 s, the cap
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs, multiplier, jitter } = { ...DEFAULTS, ...options };
  const ceiling = Math.min(maxMs, initialMs * multiplier ** Math.max(0, attempt));
  return ceiling * (1 - jitter * random());
}
