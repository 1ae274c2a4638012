import { setTimeout as sleep } from "node:timers/promises";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createRng } from "../../core/random.ts";
import type { Grid } from "../app/grid.ts";

export interface SampleOptions {
  minAvailableNodes: number;
  sampleSize: number;
  /** Seconds to wait for `minAvailableNodes` to connect before failing. */
  waitTimeout: number;
  /** Makes the draw reproducible: e.g. the round and the phase. */
  seedParts: readonly (string | number)[];
}

/**
 * Waits (bounded, unlike Flower 1.28) for enough nodes, then draws `sampleSize` of them
 * with a generator seeded from the run seed, so a run's sampling is reproducible.
 */
export async function sampleNodes(
  grid: Grid,
  options: SampleOptions,
): Promise<{ sampled: bigint[]; all: bigint[] }> {
  const needed = Math.max(options.minAvailableNodes, options.sampleSize);
  const deadline = Date.now() + options.waitTimeout * 1000;
  let all = await grid.getNodeIds();
  while (all.length < needed) {
    if (Date.now() >= deadline) {
      throw new FedbridgeError(
        Code.DeadlineExceeded,
        `only ${all.length} of the ${needed} nodes needed were connected after ${options.waitTimeout} s`,
      );
    }
    grid.observer.log(
      `Waiting for nodes to connect: ${all.length} connected (minimum required: ${needed}).`,
    );
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
    all = await grid.getNodeIds();
  }
  const sorted = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rng = createRng(String(grid.run.runConfig.seed ?? 0), "sample-nodes", ...options.seedParts);
  return { sampled: rng.shuffle(sorted).slice(0, options.sampleSize), all };
}
