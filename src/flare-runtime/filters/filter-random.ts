import { z } from "zod";
import {
  createPrivacyRandom,
  createSecureRandom,
  type PrivacyRandom,
} from "../../core/numeric/privacy-random.ts";
import type { FilterContext } from "./filter.ts";

/**
 * A randomized filter's `seed` argument. With it, the filter's draws are fixed by the seed and
 * the task (site, job, task, direction, round), so a run can be replayed; whoever knows the seed
 * can also replay the noise and take it off, so it belongs in the site's privacy.json, never in
 * a job's config. Without it, every call draws fresh noise from the operating system's entropy.
 */
export const seedArg = z.union([z.string(), z.number()]).optional();

/** The random stream of one call of filter `filter`. */
export function filterRandom(
  filter: string,
  seed: string | number | undefined,
  context: FilterContext,
): PrivacyRandom {
  if (seed === undefined) return createSecureRandom();
  return createPrivacyRandom(
    filter,
    seed,
    context.site,
    context.jobId,
    context.task,
    context.direction,
    context.round ?? null,
  );
}
