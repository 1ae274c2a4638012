import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { type ConfigType, typeConfig } from "../../core/typed-config.ts";
import type { UserConfig } from "./context.ts";

const configValue = z.union([z.number(), z.boolean(), z.string()]);

const appFieldSchema = z.object({
  serverapp: z.string().min(1),
  clientapp: z.string().min(1),
  config: z.record(z.string(), configValue).default({}),
});

/** An app folder as ../shared/CLI.md defines it: package.json with a `fedbridge` field. */
export interface AppManifest {
  dir: string;
  /** The `name` in package.json, or the folder name. */
  name: string;
  /** The `version` in package.json, or "0.0.0". */
  version: string;
  serverappUrl: string;
  clientappUrl: string;
  /** The app's default run config. */
  config: UserConfig;
  /** Each config key's type, from its default as written (`1` integer, `1.0` number). */
  configTypes: Record<string, ConfigType>;
}

/** Reads and checks an app folder; every problem is a FedbridgeError naming the file and field. */
export async function readAppManifest(appDir: string): Promise<AppManifest> {
  const dir = resolve(appDir);
  const manifestPath = join(dir, "package.json");
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new FedbridgeError(Code.NotFound, `app folder ${appDir} does not exist`);
  }
  if (!(await stat(manifestPath).catch(() => undefined))?.isFile()) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${appDir} is not an app folder: it has no package.json with a "fedbridge" field`,
    );
  }
  let pkg: { name?: unknown; version?: unknown; fedbridge?: unknown };
  let text: string;
  try {
    text = await readFile(manifestPath, "utf8");
    pkg = JSON.parse(text);
  } catch (cause) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${manifestPath}: cannot read it as JSON (${FedbridgeError.from(cause).message})`,
    );
  }
  if (pkg.fedbridge === undefined) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${manifestPath} has no "fedbridge" field; an app declares { "fedbridge": { "serverapp": "./server.ts", "clientapp": "./client.ts" } }`,
    );
  }
  const parsed = appFieldSchema.safeParse(pkg.fedbridge);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${manifestPath}: "fedbridge.${issue?.path.join(".")}": ${issue?.message}`,
    );
  }
  const moduleUrl = async (field: "serverapp" | "clientapp") => {
    const path = resolve(dir, parsed.data[field]);
    if (!(await stat(path).catch(() => undefined))?.isFile()) {
      // Flower's `flwr run` packs *.py, *.toml, *.json... into a FAB, never *.ts.
      const flowerBuilt =
        (await stat(join(dir, "pyproject.toml")).catch(() => undefined)) && path.endsWith(".ts");
      throw new FedbridgeError(
        Code.NotFound,
        `${manifestPath}: "fedbridge.${field}" names ${parsed.data[field]}, which does not exist${flowerBuilt ? ` (a FAB built by Flower's "flwr run" carries no .ts files: start the run with "fedbridge run APP --superlink ...", whose bundle carries them)` : ""}`,
      );
    }
    return pathToFileURL(path).href;
  };
  return {
    dir,
    name: typeof pkg.name === "string" ? pkg.name : (dir.split("/").at(-1) ?? "app"),
    version: typeof pkg.version === "string" && pkg.version !== "" ? pkg.version : "0.0.0",
    serverappUrl: await moduleUrl("serverapp"),
    clientappUrl: await moduleUrl("clientapp"),
    config: parsed.data.config,
    configTypes: typeConfig(parsed.data.config, text, ["fedbridge", "config"]).types,
  };
}

/** Imports an app module and returns its named `app` export, checked to be a `type`. */
export async function importApp<T>(
  url: string,
  type: abstract new (...args: never[]) => T,
  what: string,
): Promise<T> {
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (cause) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `cannot load ${what} module ${url}: ${FedbridgeError.from(cause).message}`,
      { cause },
    );
  }
  if (!(module.app instanceof type)) {
    const found =
      module.app === undefined ? "no export named `app`" : "an `app` export of another type";
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${what} module ${url} has ${found}; it must export \`app\`, a ${type.name}`,
    );
  }
  return module.app;
}
