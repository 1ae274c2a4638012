import { RecordDict } from "../records/record-dict.ts";

/** A value of a run config or node config. */
export type UserConfigValue = number | bigint | boolean | string;
export type UserConfig = Record<string, UserConfigValue>;

/**
 * What an app knows about where it runs, as Flower 1.28's `Context`. `state` persists
 * across the messages a node handles in one run.
 */
export interface Context {
  runId: bigint;
  nodeId: bigint;
  /** Per-node settings, e.g. `partition-id` and `num-partitions`. */
  nodeConfig: UserConfig;
  /** The app's config with the run's overrides, including `seed` when one was given. */
  runConfig: UserConfig;
  state: RecordDict;
}

export function createContext(init: Partial<Context> & Pick<Context, "runId" | "nodeId">): Context {
  return { nodeConfig: {}, runConfig: {}, state: new RecordDict(), ...init };
}
