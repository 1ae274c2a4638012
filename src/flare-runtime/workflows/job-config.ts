import { z } from "zod";
import { parseOrRefuse } from "../../core/parse-or-refuse.ts";

const jobConfigSchema = z.looseObject({
  /** Run one after another on the server, e.g. ScatterAndGather then CrossSiteEval. */
  workflows: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        args: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1, { error: "must list a workflow" }),
  /** Modules of the job's folder that export `executor`, and the tasks each one does. */
  executors: z
    .array(z.strictObject({ tasks: z.array(z.string().min(1)).min(1), path: z.string().min(1) }))
    .min(1, { error: "must list an executor" }),
  /** Filters the job adds after each site's own. */
  filters: z
    .strictObject({
      taskData: z.array(z.unknown()).optional(),
      taskResult: z.array(z.unknown()).optional(),
    })
    .optional(),
  /** The privacy scope of the sites' privacy.json this job runs under. Default: each site's default. */
  privacyScope: z.string().optional(),
});

/**
 * The `config` of a native runtime job (meta.json `app: "workflow"`): FLARE's
 * config_fed_server.json and config_fed_client.json in one place.
 *
 * ```json
 * { "workflows": [{ "name": "ScatterAndGather", "args": { "numRounds": 5, "minResponses": 3 } }],
 *   "executors": [{ "tasks": ["train"], "path": "./trainer.ts" }],
 *   "privacyScope": "private" }
 * ```
 *
 * A string value that is exactly `"{name}"` stands for the top-level config value `name`, so
 * `--run-config numRounds=3` at submit reaches a workflow's `"numRounds": "{numRounds}"`
 * (FLARE's job variables).
 */
export type WorkflowJobConfig = z.infer<typeof jobConfigSchema>;

export function parseWorkflowJobConfig(config: Record<string, unknown>): WorkflowJobConfig {
  return parseOrRefuse(jobConfigSchema, substitute(config, config), "job config");
}

/** Replaces every string "{key}" in `value` by `config[key]` when the config has that key. */
function substitute(value: unknown, config: Record<string, unknown>): unknown {
  if (typeof value === "string") {
    const key = /^\{([A-Za-z0-9_.-]+)\}$/.exec(value)?.[1];
    return key !== undefined && Object.hasOwn(config, key) ? config[key] : value;
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, config));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, config)]),
    );
  return value;
}
