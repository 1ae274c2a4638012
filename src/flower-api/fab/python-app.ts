import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { packFolder } from "../../core/folder-bundle.ts";
import type { UserConfig } from "../app/context.ts";
import { type FlowerAppToml, pythonModuleFile, readFlowerAppToml } from "./pyproject.ts";

/** A Flower app whose ServerApp is Python: what the SuperLink needs to start its run. */
export interface PythonServerApp {
  toml: FlowerAppToml;
  /** Flower's fab_id, `publisher/name`. */
  fabId: string;
}

/**
 * The Python module a pyproject.toml that fedbridge generates for a TypeScript app names as its
 * components (it only refuses, saying the app is TypeScript): never a Python ServerApp.
 */
const TYPESCRIPT_STAND_IN = "fedbridge_typescript_app";

/**
 * The app's Python ServerApp, when its pyproject.toml names one that the folder carries as a
 * .py module (and not fedbridge's stand-in for a TypeScript app); undefined otherwise.
 */
export async function findPythonServerApp(dir: string): Promise<PythonServerApp | undefined> {
  const toml = await readFlowerAppToml(dir);
  if (toml === undefined || toml.serverapp.split(":")[0] === TYPESCRIPT_STAND_IN) return undefined;
  if ((await pythonModuleFile(dir, toml.serverapp)) === undefined) return undefined;
  return { toml, fabId: `${toml.publisher}/${toml.name}` };
}

/**
 * True when the folder names a TypeScript ServerApp (package.json with a `fedbridge` field).
 * `fedbridge run` runs that one when an app has both; an app without it runs its Python
 * ServerApp, if it has one.
 */
export async function hasTypeScriptApp(dir: string): Promise<boolean> {
  const text = await readFile(join(dir, "package.json"), "utf8").catch(() => undefined);
  if (text === undefined) return false;
  try {
    return (JSON.parse(text) as { fedbridge?: unknown }).fedbridge !== undefined;
  } catch {
    return true; // readAppManifest says what is wrong with it
  }
}

/**
 * The run config of a Python app: its pyproject.toml config with the overrides, each of which
 * must name one of its keys with a value of the same kind (Flower's rule). `seed`, which every
 * fedbridge run sends, is passed on only when the app's config has it.
 */
export function pythonRunConfig(
  toml: FlowerAppToml,
  overrides: UserConfig,
): { runConfig: UserConfig; overrideConfig: UserConfig } {
  const overrideConfig: UserConfig = {};
  for (const [key, value] of Object.entries(overrides)) {
    const base = toml.config[key];
    if (base === undefined) {
      if (key === "seed") continue;
      throw new FedbridgeError(
        Code.InvalidArgument,
        `run config: the app's pyproject.toml [tool.flwr.app.config] has no key '${key}'`,
      );
    }
    if (typeof base !== typeof value)
      throw new FedbridgeError(
        Code.InvalidArgument,
        `run config: ${key}=${value} is a ${typeof value}; the app's default ${base} is a ${typeof base}`,
      );
    overrideConfig[key] = value;
  }
  return { runConfig: { ...toml.config, ...overrideConfig }, overrideConfig };
}

/**
 * Packs a Flower app folder without a TypeScript ServerApp (a Python app) as a FAB: its files, as
 * Flower's `flwr build` takes them, with `.info/CONTENT`.
 */
export async function packPythonApp(dir: string): Promise<{ bytes: Uint8Array; sha256: string }> {
  if (await hasTypeScriptApp(dir))
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${dir} is a fedbridge app: pack it with packApp`,
    );
  if ((await findPythonServerApp(dir)) === undefined)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${dir} is not an app folder: no package.json, and no pyproject.toml naming a Python serverapp`,
    );
  return packFolder(dir, { label: "app bundle" });
}
