/**
 * Wakes everyone waiting for "something changed", with a bound on the wait: the
 * building block of event-driven waits (long-polls, replies) instead of polling loops.
 */
export class Notifier {
  readonly #waiters = new Set<() => void>();

  /** Resolves at the next `notify()`, after `ms`, or when `signal` aborts, whichever is first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
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
    for (const wake of [...this.#waiters]) wake();
  }
}
