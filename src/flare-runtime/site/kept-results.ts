import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/** How many keyed results a site keeps per job: a message's worth of tasks in flight. */
export const KEPT_RESULTS = 4;

/**
 * A job's results for its most recent keyed tasks at a site (Task.keys), kept as files (each
 * written past the page cache as it came from the job's process) rather than dropped once sent. A server that restarts
 * mid-task sends again what its sites were working on, under the same keys: each gets the
 * result it had, without reaching the job's process — a round is never trained twice, and the
 * process holds no reply in memory for it. A task sent again while its first run is still
 * going waits for that run. The files outlive the site's own restart; the folder goes with the
 * job.
 */
export class KeptResults {
  readonly #dir: string;
  /** Each key's result file, as it will be once its task is done, oldest first. */
  readonly #results = new Map<string, Promise<string>>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * The result file of the task under `key`: the kept one (`again` is told), or the one `run`
   * writes, then kept. The file stays until newer keyed tasks push it out.
   */
  async once(key: string, run: () => Promise<string>, again: () => void): Promise<string> {
    const path = join(this.#dir, `${key}.result`);
    const earlier =
      this.#results.get(key) ?? (existsSync(path) ? Promise.resolve(path) : undefined);
    if (earlier !== undefined) {
      again();
      return earlier;
    }
    const result = (async () => {
      const file = await run();
      await mkdir(this.#dir, { recursive: true });
      await rename(file, path);
      return path;
    })();
    this.#results.set(key, result);
    result.catch(() => this.#results.delete(key));
    for (const [old, file] of this.#results) {
      if (this.#results.size <= KEPT_RESULTS) break;
      this.#results.delete(old);
      void file.then((path) => rm(path, { force: true })).catch(() => {});
    }
    return result;
  }

  /** Removes every kept result (the job ended here). */
  async clear(): Promise<void> {
    this.#results.clear();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
