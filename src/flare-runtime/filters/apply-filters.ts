import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { DataKind, type Shareable } from "../shareable/shareable.ts";
import type { Filter, FilterContext } from "./filter.ts";
import { type ReceivedModel, seesUpdate, updateView } from "./update-view.ts";

export interface ApplyFiltersOptions {
  /**
   * The model the task brought, for a result: a WEIGHTS result is then an update against it
   * for the filters that change WEIGHT_DIFF only. Default: none (they pass WEIGHTS by).
   */
  received?: ReceivedModel | undefined;
  /** Gets one line per filter: whether it applied, and why not; default: none. */
  log?: ((line: string) => void) | undefined;
}

/**
 * Runs `shareable` through `filters` in order. With `received`, each run of consecutive
 * filters that change WEIGHT_DIFF only meets a WEIGHTS result as one update (update-view.ts),
 * as FLARE's would meet a client's DIFF, rather than letting it pass unfiltered; the result
 * is rebuilt after the run, so the filters between see weights.
 */
export async function applyFilters(
  filters: readonly Filter[],
  shareable: Shareable,
  context: FilterContext,
  options: ApplyFiltersOptions = {},
): Promise<Shareable> {
  const { received, log } = options;
  const asUpdate = (filter: Filter | undefined, current: Shareable) =>
    received !== undefined &&
    current.kind === DataKind.WEIGHTS &&
    filter !== undefined &&
    seesUpdate(filter);
  let current = shareable;
  for (let i = 0; i < filters.length; ) {
    if (received === undefined || !asUpdate(filters[i], current)) {
      current = await run(filters[i++] as Filter, current, context, log);
      continue;
    }
    const view = updateView(current, received);
    let update = view.update;
    for (; i < filters.length && asUpdate(filters[i], current); i++)
      update = await run(filters[i] as Filter, update, context, log, true);
    current = view.rebuild(update);
  }
  return current;
}

async function run(
  filter: Filter,
  shareable: Shareable,
  context: FilterContext,
  log: ApplyFiltersOptions["log"],
  viewed = false,
): Promise<Shareable> {
  if (log) {
    const round = context.round === undefined ? "" : ` (round ${context.round})`;
    const where = `${context.direction} of task ${context.task}${round}`;
    log(`filter ${filter.name} on the ${where}: ${verdict(filter, shareable, context, viewed)}`);
  }
  try {
    return await filter.process(shareable, context);
  } catch (error) {
    throw new FedbridgeError(
      Code.Internal,
      `filter ${filter.name} (${context.direction} of task ${context.task}) failed: ${FedbridgeError.from(error).message}`,
    );
  }
}

/** Whether `filter` changes `shareable`, and why not: a data owner's record of what ran. */
function verdict(
  filter: Filter,
  shareable: Shareable,
  context: FilterContext,
  viewed: boolean,
): string {
  if (viewed)
    return "applied to the WEIGHTS result as an update (minus the model the task brought)";
  const kinds = filter.dataKinds;
  if (kinds === undefined) return `applied (${shareable.kind}; it takes any kind)`;
  if (kinds.includes(shareable.kind)) return `applied (${shareable.kind})`;
  const why =
    context.direction === "taskResult" && shareable.kind === DataKind.WEIGHTS && seesUpdate(filter)
      ? ", and its task brought no model to take an update from"
      : "";
  return `skipped: it changes ${kinds.join(" and ")}, this is ${shareable.kind}${why}`;
}
