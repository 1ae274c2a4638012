import { parse } from "yaml";
import { Code, FedbridgeError } from "./fedbridge-error.ts";

/**
 * What an override of a config key must be, given by the key's default as written:
 * `3` → integer, `3.0` or `0.1` → number, `true` → boolean, `"iid"` → string. A list or an
 * object cannot be overridden from the command line; a `null` default takes any value.
 */
export type ConfigType = "integer" | "number" | "boolean" | "string" | "list" | "object" | "any";

/** A config's defaults and each key's type: what overrides are checked against. */
export interface TypedConfig {
  values: Record<string, unknown>;
  types: Record<string, ConfigType>;
}

/** Where overrides came from and whose config they change, for error messages. */
export interface OverrideSource {
  /** Starts each message, e.g. `--run-config` or `run config`. */
  where: string;
  /** Whose defaults these are: `app` or `job`. */
  owner: string;
}

/**
 * Types the config object found at `path` in a JSON file's `text` (`values` is that object as
 * JSON.parse read it). JSON.parse reads `1.0` and `1` alike; YAML, a superset of JSON, keeps
 * them apart when integers are read as bigint.
 */
export function typeConfig(
  values: Record<string, unknown>,
  text: string,
  path: readonly string[],
): TypedConfig {
  let written: unknown;
  try {
    written = parse(text, { intAsBigInt: true, uniqueKeys: false });
    for (const key of path) written = isRecord(written) ? written[key] : undefined;
  } catch {
    written = undefined; // cannot happen for valid JSON; then integral values count as integers
  }
  const source = isRecord(written) ? written : {};
  const types = Object.fromEntries(
    Object.keys(values).map((key) => [
      key,
      Object.hasOwn(source, key) ? typeOf(source[key]) : typeOf(integralAsBigInt(values[key])),
    ]),
  );
  return { values, types };
}

/**
 * Refuses an override of an unknown key, or of the wrong type, with one line that names the
 * key, the value and what was expected. `seed` is always allowed, as an integer; `extraKeys`
 * are keys the place the config goes to understands besides its owner's (the runtime's
 * `privacyScope`).
 */
export function checkConfigOverrides(
  config: TypedConfig,
  overrides: Record<string, unknown>,
  source: OverrideSource,
  extraKeys: Readonly<Record<string, ConfigType>> = {},
): void {
  const { where, owner } = source;
  const known: Record<string, ConfigType> = { seed: "integer", ...extraKeys, ...config.types };
  for (const [key, value] of Object.entries(overrides)) {
    const type = Object.hasOwn(known, key) ? known[key] : undefined;
    if (type === undefined) {
      const keys = Object.keys(config.types);
      const known = keys.length
        ? `the ${owner}'s keys: ${keys.join(", ")}`
        : `the ${owner} has none`;
      throw new FedbridgeError(Code.InvalidArgument, `${where}: unknown key '${key}' (${known})`);
    }
    if (fits(value, type)) continue;
    const hasDefault = Object.hasOwn(config.values, key);
    const fallback = hasDefault
      ? ` (the ${owner}'s default is ${show(config.values[key], type)})`
      : "";
    const hint = type === "string" ? `; quote it to pass it as text: ${key}='${value}'` : "";
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${where}: ${key}=${showOverride(value)}: expected ${EXPECTED[type]}${fallback}${hint}`,
    );
  }
}

const EXPECTED: Record<ConfigType, string> = {
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  string: "a string",
  list: "a list, which cannot be overridden",
  object: "an object, which cannot be overridden",
  any: "a value",
};

function fits(value: unknown, type: ConfigType): boolean {
  switch (type) {
    case "integer":
      return typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
    case "number":
      return typeof value === "bigint" || (typeof value === "number" && Number.isFinite(value));
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "any":
      return true;
    default:
      return false;
  }
}

/** The type of a default as YAML read it: integers as bigint, every other number as written with a point or an exponent. */
function typeOf(written: unknown): ConfigType {
  if (typeof written === "bigint") return "integer";
  if (typeof written === "number") return "number";
  if (typeof written === "boolean") return "boolean";
  if (typeof written === "string") return "string";
  if (Array.isArray(written)) return "list";
  return isRecord(written) ? "object" : "any";
}

function integralAsBigInt(value: unknown): unknown {
  return typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as JSON would write it; a number-typed default keeps its point (`1.0`). */
function show(value: unknown, type?: ConfigType): string {
  if (type === "number" && Number.isInteger(value)) return `${value}.0`;
  return typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? String(value));
}

/** An override as it was most likely typed: bare unless it needs quotes to be read back. */
function showOverride(value: unknown): string {
  return typeof value === "string" && /^[^\s"']+$/.test(value) ? value : show(value);
}
