import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { UserConfig } from "../app/context.ts";
import { PYPROJECT_PATH } from "./flower-pyproject.ts";

/** What Flower reads from an app's pyproject.toml: its identity, components and config. */
export interface FlowerAppToml {
  /** `[tool.flwr.app].publisher`. */
  publisher: string;
  /** `[project].name` and `.version`. */
  name: string;
  version: string;
  /** `[tool.flwr.app.components]`: `module:attribute` references. */
  serverapp: string;
  clientapp: string;
  /** `[tool.flwr.app.config]`, dotted keys as Flower flattens them. */
  config: UserConfig;
}

type TomlValue = string | number | boolean;

/**
 * The tables and scalar keys of a TOML document: enough of TOML for a Flower pyproject.toml.
 * Arrays and inline tables (dependencies, build settings) are skipped whole, even across
 * lines, since Flower's identity and config never use them; anything else unreadable is an
 * error naming the line.
 */
export function parseTomlScalars(text: string, file: string): Map<string, TomlValue> {
  const out = new Map<string, TomlValue>();
  let table = "";
  let depth = 0; // open brackets of a skipped array or inline table
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = stripComment(raw).trim();
    if (depth > 0) {
      depth += bracketBalance(line);
      continue;
    }
    if (line === "") continue;
    const header = /^\[\s*([^\][]+?)\s*\]$/.exec(line);
    if (header) {
      table = header[1]?.replace(/\s*\.\s*/g, ".").replace(/"/g, "") ?? "";
      continue;
    }
    if (/^\[\[/.test(line)) {
      table = "\0array-of-tables"; // not used by Flower: its keys are ignored
      continue;
    }
    const eq = /^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!eq) throw bad(file, i, "it is not `key = value`");
    const key = (eq[1] as string).replace(/^["']|["']$/g, "");
    const value = (eq[2] as string).trim();
    if (value.startsWith("[") || value.startsWith("{")) {
      depth = bracketBalance(value);
      continue;
    }
    out.set(table === "" ? key : `${table}.${key}`, scalar(value, file, i));
  }
  return out;
}

/** Reads an app folder's pyproject.toml as Flower does; undefined when the folder has none. */
export async function readFlowerAppToml(dir: string): Promise<FlowerAppToml | undefined> {
  const path = join(dir, PYPROJECT_PATH);
  if (!(await stat(path).catch(() => undefined))?.isFile()) return undefined;
  const keys = parseTomlScalars(await readFile(path, "utf8"), path);
  const need = (key: string): string => {
    const value = keys.get(key);
    if (typeof value !== "string" || value === "")
      throw new FedbridgeError(Code.InvalidArgument, `${path}: ${key} must be a non-empty string`);
    return value;
  };
  const prefix = "tool.flwr.app.config.";
  const config: UserConfig = {};
  for (const [key, value] of keys)
    if (key.startsWith(prefix)) config[key.slice(prefix.length)] = value;
  return {
    publisher: need("tool.flwr.app.publisher"),
    name: need("project.name"),
    version: need("project.version"),
    serverapp: need("tool.flwr.app.components.serverapp"),
    clientapp: need("tool.flwr.app.components.clientapp"),
    config,
  };
}

/**
 * The Python file a `module:attribute` component names inside `dir` (`a.b:app` is a/b.py or
 * a/b/__init__.py), or undefined when the app carries no such file: then the component is
 * not Python (a fedbridge-generated pyproject.toml names TypeScript modules the same way).
 */
export async function pythonModuleFile(dir: string, ref: string): Promise<string | undefined> {
  const module = ref.split(":")[0] ?? "";
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(module)) return undefined;
  const base = join(dir, ...module.split("."));
  for (const path of [`${base}.py`, join(base, "__init__.py")]) {
    if ((await stat(path).catch(() => undefined))?.isFile()) return path;
  }
  return undefined;
}

function scalar(value: string, file: string, line: number): TomlValue {
  if (/^"(?:[^"\\]|\\.)*"$/.test(value)) return JSON.parse(value) as string;
  if (/^'[^']*'$/.test(value)) return value.slice(1, -1);
  if (value === "true" || value === "false") return value === "true";
  const number = value.replace(/_/g, "");
  if (/^[+-]?\d+$/.test(number)) return Number(number);
  if (/^[+-]?(\d+\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+|inf|nan)$/.test(number)) {
    return number.endsWith("inf")
      ? number.startsWith("-")
        ? -Infinity
        : Infinity
      : Number(number);
  }
  throw bad(file, line, `cannot read the value ${value.slice(0, 40)}`);
}

/** A line without its comment; a `#` inside a string stays. */
function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== "") {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#") return line.slice(0, i);
  }
  return line;
}

/** Opening minus closing brackets and braces outside strings. */
function bracketBalance(text: string): number {
  const bare = text.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, "");
  return (bare.match(/[[{]/g)?.length ?? 0) - (bare.match(/[\]}]/g)?.length ?? 0);
}

function bad(file: string, line: number, why: string): FedbridgeError {
  return new FedbridgeError(Code.InvalidArgument, `${file} line ${line + 1}: ${why}`);
}
