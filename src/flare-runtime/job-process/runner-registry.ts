import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/**
 * Job runners by name (meta.json's `app`) → the module URL a job process imports. The runtime
 * ships `sum` and `workflow` (native jobs: workflows, executors, filters); other layers add theirs (the bridge adds `flower`) when they start a parent.
 */
export type RunnerRegistry = Readonly<Record<string, string>>;

export const BUILTIN_RUNNERS: RunnerRegistry = {
  sum: new URL("./runners/sum.ts", import.meta.url).href,
  workflow: new URL("../workflows/workflow-runner.ts", import.meta.url).href,
};

export function runnerUrl(registry: RunnerRegistry, app: string): string {
  const url = registry[app];
  if (url === undefined) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `no job runner named '${app}' (known: ${Object.keys(registry).join(", ")})`,
    );
  }
  return url;
}
