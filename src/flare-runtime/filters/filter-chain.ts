import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { PrivacyPolicy } from "../provision/kit-config.ts";
import type { Filter, FilterDirection } from "./filter.ts";
import { createFilter } from "./filter-registry.ts";

/** The filters a job's tasks pass at a site, each way. */
export type FilterChains = Record<FilterDirection, Filter[]>;

/** The filters a job adds (its config's `filters`), each way. */
export interface JobFilters {
  taskData?: unknown[] | undefined;
  taskResult?: unknown[] | undefined;
}

/**
 * The chains at a site for one job: the filters of the privacy scope the job runs under (the
 * site's defaultScope unless the job names one) come first, then the job's own. A job cannot
 * remove or reorder the site's filters; a scope the site does not define is refused.
 */
export function siteFilterChains(
  site: string,
  policy: PrivacyPolicy,
  scope: string | undefined,
  job: JobFilters = {},
): FilterChains {
  const scopeName = scope ?? policy.defaultScope;
  const siteScope = policy.scopes[scopeName];
  if (siteScope === undefined)
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `site ${site} has no privacy scope '${scopeName}' (it has: ${Object.keys(policy.scopes).join(", ") || "none"})`,
    );
  return {
    taskData: [...siteScope.taskDataFilters, ...(job.taskData ?? [])].map(createFilter),
    taskResult: [...siteScope.taskResultFilters, ...(job.taskResult ?? [])].map(createFilter),
  };
}

/**
 * The chains at a site for a job, from the job's config: its `privacyScope` and its `filters`.
 * Called when a job is deployed (a scope the site lacks, or an unknown filter, refuses it)
 * and when its tasks run.
 */
export function jobFilterChains(
  site: string,
  policy: PrivacyPolicy,
  config: Readonly<Record<string, unknown>>,
): FilterChains {
  return siteFilterChains(
    site,
    policy,
    config.privacyScope as string | undefined,
    config.filters as JobFilters | undefined,
  );
}

/**
 * Checks every filter of every scope of a site's privacy.json, and that its default scope
 * exists; the error names the file, the place and the fault in one line.
 */
export function checkPrivacyPolicy(policy: PrivacyPolicy, file: string): void {
  if (policy.scopes[policy.defaultScope] === undefined)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${file}: defaultScope: no scope named '${policy.defaultScope}'`,
    );
  for (const [name, scope] of Object.entries(policy.scopes)) {
    for (const direction of ["taskDataFilters", "taskResultFilters"] as const) {
      scope[direction].forEach((spec, i) => {
        try {
          createFilter(spec);
        } catch (error) {
          throw new FedbridgeError(
            Code.InvalidArgument,
            `${file}: scopes.${name}.${direction}[${i}]: ${FedbridgeError.from(error).message}`,
          );
        }
      });
    }
  }
}
