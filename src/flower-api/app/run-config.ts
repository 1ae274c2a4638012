import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { type ConfigType, checkConfigOverrides } from "../../core/typed-config.ts";
import type { UserConfig, UserConfigValue } from "./context.ts";
import type { AppManifest } from "./load-app.ts";

/**
 * Parses `--run-config "k=v k2=v2"` (also used for `--node-config`): space-separated
 * key=value pairs; values are numbers, `true`/`false`, or strings (quote them to keep
 * spaces or to force a string: `name='site 1'`).
 */
export function parseConfigOverrides(text: string, flag = "--run-config"): UserConfig {
  const config: UserConfig = {};
  const pairPattern = /\s*([^\s=]+)=("[^"]*"|'[^']*'|[^\s"']*)(?=\s|$)/y;
  let rest = text.trim();
  while (rest.length > 0) {
    pairPattern.lastIndex = 0;
    const match = pairPattern.exec(rest);
    if (match === null || match[0].trim() === "") {
      const bad = rest.split(/\s+/)[0];
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${flag}: cannot read '${bad}'; expected key=value pairs such as "num-server-rounds=3 lr=0.1"`,
      );
    }
    const [, key = "", raw = ""] = match;
    config[key] = parseValue(raw);
    rest = rest.slice(match[0].length).trimStart();
  }
  return config;
}

function parseValue(raw: string): UserConfigValue {
  if (/^(["']).*\1$/.test(raw)) return raw.slice(1, -1);
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

/**
 * Refuses overrides the app's config does not allow, before anything starts: an unknown key,
 * or a value of another type than the key's default (see `ConfigType`). `seed` is always
 * allowed. `where` starts the message, e.g. `--run-config: lr=abc: expected a number (...)`.
 */
export function checkRunConfig(
  manifest: Pick<AppManifest, "config" | "configTypes">,
  overrides: Record<string, unknown>,
  where = "run config",
  extraKeys: Readonly<Record<string, ConfigType>> = {},
): void {
  checkConfigOverrides(
    { values: manifest.config, types: manifest.configTypes },
    overrides,
    { where, owner: "app" },
    extraKeys,
  );
}
