import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/** The file every job folder holds at its top. */
export const JOB_META_FILE = "meta.json";
/** In `deployMap` and `resourceSpec`: every site the server knows. */
export const ALL_SITES = "@ALL";

/** A JSON value, as `config` carries it to the job. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** What a job needs from one site; a missing field needs nothing. */
export interface ResourceNeeds {
  gpus?: number;
  memoryGb?: number;
}

/**
 * A validated `meta.json`. The server always runs the job's server side; `deployMap` says which
 * sites run its site side. One job is one app (its bundle), so the deploy map is a list of
 * sites rather than NVFlare's app → sites map. Only `name` and `app` are required:
 *
 * ```json
 * { "name": "sum-demo", "app": "sum",
 *   "deployMap": ["site-1", "site-2", "site-3"], "minSites": 2, "mandatorySites": ["site-1"],
 *   "resourceSpec": { "@ALL": { "memoryGb": 1 }, "site-1": { "gpus": 1, "memoryGb": 4 } },
 *   "config": { "number": 7 }, "timeoutSeconds": 120 }
 * ```
 */
export interface JobMeta {
  name: string;
  /** Which job runner runs the bundle: "sum" today, "flower" for bridged Flower apps. Open. */
  app: string;
  /** Site names, or `["@ALL"]` for every site the server knows when the job is scheduled. */
  deployMap: string[];
  /** Sites that must be online and able to take the job; default 1. */
  minSites: number;
  /** Sites without which the job does not start; default none. */
  mandatorySites: string[];
  /** Per site name, or `@ALL` for every site without its own entry; default none. */
  resourceSpec: Record<string, ResourceNeeds>;
  /** Passed to the job as is; default `{}`. */
  config: { [key: string]: JsonValue };
  /** How long the job may wait for sites before it is given up, in seconds; default the server's. */
  timeoutSeconds?: number;
}

const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const siteName = z.string().max(64).regex(SITE_NAME, {
  error: "must be a site name (letters, digits, '.', '_' or '-')",
});
const siteOrAll = z.union([z.literal(ALL_SITES), siteName], {
  error: `must be a site name or "${ALL_SITES}"`,
});

const metaSchema = z.strictObject({
  name: z.string().trim().min(1, { error: "must not be empty" }),
  app: z
    .string()
    .regex(/^[a-z][a-z0-9._-]*$/, { error: "must be a lowercase runner name such as sum" }),
  deployMap: z
    .union([z.literal(ALL_SITES), z.array(siteOrAll).min(1, { error: "must list a site" })], {
      error: `must be "${ALL_SITES}" or a list of site names`,
    })
    .default([ALL_SITES])
    .transform((value) => (typeof value === "string" ? [value] : value)),
  minSites: z.int().min(1).default(1),
  mandatorySites: z.array(siteName).default([]),
  resourceSpec: z
    .record(
      siteOrAll,
      z
        .strictObject({ gpus: z.int().min(0).optional(), memoryGb: z.number().min(0).optional() })
        .transform(
          ({ gpus, memoryGb }): ResourceNeeds => ({
            ...(gpus !== undefined ? { gpus } : {}),
            ...(memoryGb !== undefined ? { memoryGb } : {}),
          }),
        ),
    )
    .default({}),
  config: z.record(z.string(), z.json()).default({}),
  timeoutSeconds: z.number().positive().optional(),
});

/**
 * Validates a parsed `meta.json`. Strict: an unknown key or a wrong type is refused, since a
 * misspelt `minSite` silently ignored would schedule a job its author did not mean. Every
 * problem names its key; `source` names the file in errors.
 */
export function parseJobMeta(data: unknown, source = JOB_META_FILE): JobMeta {
  const fail = (problems: string[]) => {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
    return new FedbridgeError(
      Code.InvalidArgument,
      `${source}: ${problems.slice(0, 3).join("; ")}${more}`,
    );
  };
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw fail(["must be a JSON object"]);
  const parsed = metaSchema.safeParse(data, {
    error: (issue) => (issue.input === undefined ? "is required" : undefined),
  });
  if (!parsed.success) throw fail(parsed.error.issues.map(describe));
  const { timeoutSeconds, ...meta } = parsed.data;
  const result: JobMeta = { ...meta, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) };
  const problems = crossCheck(result);
  if (problems.length > 0) throw fail(problems);
  return result;
}

/**
 * Reads and validates `JOB_DIR/meta.json`. A folder without one is refused with a message
 * that says what a job folder is, since the usual mistake is pointing at the wrong folder.
 */
export async function readJobMeta(jobDir: string): Promise<JobMeta> {
  const path = join(jobDir, JOB_META_FILE);
  const isDir = await stat(jobDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new FedbridgeError(Code.InvalidArgument, `${jobDir}: not a job folder`);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    const message = missing
      ? `${jobDir} has no ${JOB_META_FILE}: a job folder holds a ${JOB_META_FILE} with at least "name" and "app"`
      : `${path}: cannot read (${(cause as Error).message})`;
    throw new FedbridgeError(Code.InvalidArgument, message, { cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${path}: not valid JSON (${(cause as Error).message})`,
      { cause },
    );
  }
  return parseJobMeta(data, path);
}

/** Mistakes zod cannot see: a job that could never be scheduled as written. */
function crossCheck(meta: JobMeta): string[] {
  const problems: string[] = [];
  const all = meta.deployMap.includes(ALL_SITES);
  if (all && meta.deployMap.length > 1)
    problems.push(`deployMap: "${ALL_SITES}" already means every site; list it alone`);
  const duplicate = meta.deployMap.find((site, i) => meta.deployMap.indexOf(site) !== i);
  if (duplicate !== undefined) problems.push(`deployMap lists ${duplicate} twice`);
  if (all) return problems;
  const listed = new Set(meta.deployMap);
  if (meta.minSites > listed.size)
    problems.push(`minSites is ${meta.minSites} but deployMap lists only ${listed.size} site(s)`);
  for (const site of meta.mandatorySites)
    if (!listed.has(site)) problems.push(`mandatorySites: ${site} is not in deployMap`);
  for (const site of Object.keys(meta.resourceSpec))
    if (site !== ALL_SITES && !listed.has(site))
      problems.push(`resourceSpec: ${site} is not in deployMap`);
  return problems;
}

/** `resourceSpec.site-1.gpus: expected int, received number`, `unknown key "minSite"`. */
function describe(issue: z.core.$ZodIssue): string {
  const where = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => `"${key}"`).join(", ");
    return `${where ? `${where}: ` : ""}unknown key${issue.keys.length > 1 ? "s" : ""} ${keys}`;
  }
  const message = issue.message
    .replace(/^Invalid input: /, "")
    .replace(/^[A-Z]/, (c) => c.toLowerCase());
  return `${where || "(top level)"} ${message}`;
}

/**
 * Config keys the runtime itself reads from any job's config, so `admin submit --run-config`
 * may set them whatever the job's own keys: the privacy scope of the sites' privacy.json the
 * job runs under.
 */
export const RUNTIME_CONFIG_KEYS = { privacyScope: "string" } as const;
