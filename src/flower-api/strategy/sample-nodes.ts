import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createRng } from "../../core/numeric/random.ts";
import type { Grid } from "../app/grid.ts";

export interface SampleOptions {
  minAvailableNodes: number;
  sampleSize: number;
  /** Seconds to wait for `minAvailableNodes` to connect before failing. */
  waitTimeout: number;
  /** Makes the draw reproducible: e.g. the round and the phase. */
  seedParts: readonly (string | number)[];
}

/** How often a wait for nodes says again what it waits for, when nothing changed, in ms. */
const WAITING_REPEAT_MS = 10_000;

/**
 * Waits (bounded, unlike Flower 1.28) for enough nodes, saying what it waits for, then draws
 * `sampleSize` of them with a generator seeded from the run seed, so a run's sampling is
 * reproducible. Where the run's nodes are fixed (`grid.fixedNodes`), too few fail at once.
 */
export async function sampleNodes(
  grid: Grid,
  options: SampleOptions,
): Promise<{ sampled: bigint[]; all: bigint[] }> {
  const needed = Math.max(options.minAvailableNodes, options.sampleSize);
  const why =
    options.sampleSize > options.minAvailableNodes
      ? `a sample of ${options.sampleSize}`
      : `minAvailableNodes ${options.minAvailableNodes}`;
  const deadline = Date.now() + options.waitTimeout * 1000;
  let all = await grid.getNodeIds();
  if (all.length < needed && grid.fixedNodes !== undefined) {
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `the strategy needs ${needed} nodes (${why}), but ${grid.fixedNodes}`,
    );
  }
  let said = { count: -1, at: 0 };
  while (all.length < needed) {
    if (Date.now() >= deadline) {
      throw new FedbridgeError(
        Code.DeadlineExceeded,
        `only ${all.length} of the ${needed} nodes needed (${why}) were connected after ${options.waitTimeout} s`,
      );
    }
    if (all.length !== said.count || Date.now() - said.at >= WAITING_REPEAT_MS) {
      grid.observer.waiting?.(
        `waiting for ${needed} nodes to connect (${why}): ${all.length} connected`,
      );
      said = { count: all.length, at: Date.now() };
    }
    grid.observer.log(
      `Waiting for nodes to connect: ${all.length} connected (minimum required: ${needed}).`,
    );
    const pause = Math.min(1000, Math.max(0, deadline - Date.now()));
    // A plain timer, not node:timers/promises: strategies also load in the browser build.
    await new Promise((resolve) => setTimeout(resolve, pause));
    all = await grid.getNodeIds();
  }
  const sorted = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rng = createRng(String(grid.run.runConfig.seed ?? 0), "sample-nodes", ...options.seedParts);
  return { sampled: rng.shuffle(sorted).slice(0, options.sampleSize), all };
}
