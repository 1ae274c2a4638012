import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { UserConfig } from "../app/context.ts";
import { PYPROJECT_PATH } from "./flower-pyproject.ts";
import { pyprojectIdentity } from "./pyproject-identity.ts";

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

/** Reads an app folder's pyproject.toml as Flower does; undefined when the folder has none. */
export async function readFlowerAppToml(dir: string): Promise<FlowerAppToml | undefined> {
  const path = join(dir, PYPROJECT_PATH);
  if (!(await stat(path).catch(() => undefined))?.isFile()) return undefined;
  const identity = pyprojectIdentity(await readFile(path, "utf8"), path);
  const [publisher = "", name = ""] = identity.fabId.split("/");
  return {
    publisher,
    name,
    version: identity.fabVersion,
    serverapp: identity.components.serverapp,
    clientapp: identity.components.clientapp,
    config: identity.config,
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
