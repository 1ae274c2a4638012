/**
 * Wakes everyone waiting for "something changed", with a bound on the wait: the
 * building block of event-driven waits (long-polls, replies) instead of polling loops.
 *
 * A waiter that checks some state and then waits misses a `notify()` that runs between the
 * two (an `await` lets other code run there). To close that gap, read `version` before the
 * check and pass it to `wait` as `since`: the wait then returns at once if anything was
 * notified after the check.
 */
export class Notifier {
  readonly #waiters = new Set<() => void>();
  #version = 0;

  /** How many times `notify()` has run. */
  get version(): number {
    return this.#version;
  }

  /**
   * Resolves at the next `notify()`, after `ms`, or when `signal` aborts, whichever is first;
   * at once if `since` is given and `notify()` has run since `version` was `since`.
   */
  wait(ms: number, signal?: AbortSignal, since?: number): Promise<void> {
    if (since !== undefined && since !== this.#version) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
      signal?.addEventListener("abort", done);
      this.#waiters.add(done);
      if (signal?.aborted) done();
    });
  }

  notify(): void {
    this.#version += 1;
    for (const wake of [...this.#waiters]) wake();
  }
}
