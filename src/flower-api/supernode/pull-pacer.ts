/** A pull that comes back empty sooner than this was not held by the SuperLink, in ms. */
export const QUICK_EMPTY_PULL_MS = 1_000;
/** The first wait after a quick empty pull, in ms; it doubles with each one after. */
export const PULL_BACKOFF_MIN_MS = 100;
/** The longest wait between quick empty pulls, in ms. */
export const PULL_BACKOFF_MAX_MS = 1_000;

/**
 * How long a SuperNode waits before its next PullMessages. Our SuperLink holds an idle node's
 * pull open (~10 s) until an instruction comes, so the next pull goes out at once. A Flower
 * 1.28 SuperLink answers at once with nothing; pulling again at once would poll hundreds of
 * times a second, so after a quick empty pull the node waits 0.1 s, doubling to 1 s, until a
 * message (or a held pull) shows the SuperLink is not idle-and-quick any more.
 */
export class PullPacer {
  #backoffMs = 0;

  /** The wait before the next pull, given how the last one went. */
  next(last: { gotMessage: boolean; tookMs: number }): number {
    if (last.gotMessage || last.tookMs >= QUICK_EMPTY_PULL_MS) {
      this.#backoffMs = 0;
      return 0;
    }
    this.#backoffMs = Math.min(
      Math.max(this.#backoffMs * 2, PULL_BACKOFF_MIN_MS),
      PULL_BACKOFF_MAX_MS,
    );
    return this.#backoffMs;
  }
}
