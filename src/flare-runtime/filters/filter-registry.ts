import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseOrRefuse } from "../../core/parse-or-refuse.ts";
import { createExcludeVars, excludeVarsArgs } from "./exclude-vars.ts";
import type { Filter } from "./filter.ts";
import { createGaussianPrivacy, gaussianPrivacyArgs } from "./gaussian-privacy.ts";
import { createPercentilePrivacy, percentilePrivacyArgs } from "./percentile-privacy.ts";
import { createSvtPrivacy, svtPrivacyArgs } from "./svt-privacy.ts";

/** The built-in filters by name: each one's arguments (checked) and how to make it. */
const FILTERS: Record<string, { args: z.ZodType; create: (args: never) => Filter }> = {
  ExcludeVars: { args: excludeVarsArgs, create: createExcludeVars },
  PercentilePrivacy: { args: percentilePrivacyArgs, create: createPercentilePrivacy },
  SVTPrivacy: { args: svtPrivacyArgs, create: createSvtPrivacy },
  GaussianPrivacy: { args: gaussianPrivacyArgs, create: createGaussianPrivacy },
};

export const FILTER_NAMES = Object.keys(FILTERS);

/** Makes the filter a spec names, or says in one line what is wrong with the spec. */
export function createFilter(spec: unknown): Filter {
  const parsed = z
    .strictObject({ name: z.string(), args: z.record(z.string(), z.unknown()).optional() })
    .safeParse(spec);
  if (!parsed.success)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `a filter must be { "name": ..., "args": { ... } }, not ${JSON.stringify(spec)}`,
    );
  const { name, args = {} } = parsed.data;
  const filter = FILTERS[name];
  if (filter === undefined)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `unknown filter '${name}' (known: ${FILTER_NAMES.join(", ")})`,
    );
  return filter.create(parseOrRefuse(filter.args, args, `filter ${name}`, "args") as never);
}
