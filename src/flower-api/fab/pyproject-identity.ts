import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseToml, type TomlTable, type TomlValue } from "./toml.ts";

/** What a Flower app is called on the wire, read from a pyproject.toml (the app's own or ours). */
export interface FabIdentity {
  /** `publisher/name`: Flower's fab_id. */
  fabId: string;
  /** `[project].version`: Flower's fab_version. */
  fabVersion: string;
  /** `[tool.flwr.app.config]`, nested tables joined with dots: the only keys a Flower node accepts as overrides. */
  config: Record<string, string | number | boolean>;
  configKeys: string[];
  /** `[tool.flwr.app.components]`: `module:attribute` references to the Python apps. */
  components: { serverapp: string; clientapp: string };
  /** Whether the file is the app's own (a Python or mixed app), not one fedbridge generated. */
  own: boolean;
}

/** Whose module a generated pyproject.toml names; see flower-pyproject.ts. */
const GENERATED_COMPONENT = /^fedbridge_typescript_app:/;

/**
 * Reads a FAB's identity from its pyproject.toml as Flower 1.28 does: publisher from
 * `[tool.flwr.app]`, name and version from `[project]`, the components and the config. A
 * missing field is refused here, naming the file, rather than by a Flower node later.
 */
export function pyprojectIdentity(text: string, label: string): FabIdentity {
  const doc = parseToml(text, label);
  const table = (value: TomlValue | undefined, name: string): TomlTable => {
    if (value === undefined || typeof value !== "object" || Array.isArray(value))
      throw new FedbridgeError(Code.InvalidArgument, `${label}: it has no [${name}] table`);
    return value;
  };
  const field = (from: TomlTable, key: string, name: string): string => {
    const value = from[key];
    if (typeof value !== "string" || value === "")
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${label}: [${name}] needs "${key}" as a non-empty string (Flower reads the app's identity from it)`,
      );
    return value;
  };
  const project = table(doc.project, "project");
  const app = table(table(table(doc.tool, "tool").flwr, "tool.flwr").app, "tool.flwr.app");
  const components = table(app.components, "tool.flwr.app.components");
  const publisher = field(app, "publisher", "tool.flwr.app");
  const name = field(project, "name", "project");
  for (const [what, value] of [
    ["publisher", publisher],
    ["name", name],
  ] as const)
    if (value.includes("/"))
      throw new FedbridgeError(Code.InvalidArgument, `${label}: the ${what} "${value}" has a "/"`);
  const serverapp = field(components, "serverapp", "tool.flwr.app.components");
  const clientapp = field(components, "clientapp", "tool.flwr.app.components");
  const config = flatten(app.config === undefined ? {} : table(app.config, "tool.flwr.app.config"));
  return {
    fabId: `${publisher}/${name}`,
    fabVersion: field(project, "version", "project"),
    config,
    configKeys: Object.keys(config),
    components: { serverapp, clientapp },
    own: !GENERATED_COMPONENT.test(clientapp),
  };
}

/** Nested tables as dotted keys (Flower's flatten_dict); arrays are not config values. */
function flatten(table: TomlTable, prefix = ""): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(table)) {
    const path = `${prefix}${key}`;
    if (Array.isArray(value)) continue;
    if (typeof value === "object") Object.assign(out, flatten(value, `${path}.`));
    else out[path] = value;
  }
  return out;
}
