import type { Shareable } from "../shareable/shareable.ts";

/** Which way a task's data is going when a filter sees it. */
export type FilterDirection = "taskData" | "taskResult";

/** What a filter knows about the shareable it is given. */
export interface FilterContext {
  /** The site the filter runs at. */
  site: string;
  jobId: string;
  /** The task's name (train, validate, ...). */
  task: string;
  direction: FilterDirection;
  /** The task's round, when its workflow has rounds (seeds randomized filters). */
  round: number | undefined;
}

/**
 * One privacy or transformation step on a task's data (as it reaches a site's executor) or
 * on its result (as it leaves the site): FLARE's Filter. Filters get real records, not
 * opaque bytes, and may change them in place.
 */
export interface Filter {
  readonly name: string;
  /**
   * The kinds of shareable it changes (FLARE's supported_data_kinds); others pass unchanged.
   * Undefined: it acts on any kind (ExcludeVars). A site shows a WEIGHTS result to a filter
   * that changes WEIGHT_DIFF but not WEIGHTS as an update (see update-view.ts).
   */
  readonly dataKinds?: readonly string[];
  process(shareable: Shareable, context: FilterContext): Shareable | Promise<Shareable>;
}
