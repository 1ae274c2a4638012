import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFlowerAppToml } from "./pyproject.ts";
import { findPythonServerApp, hasTypeScriptApp, pythonRunConfig } from "./python-app.ts";

/** The pyproject.toml of the ServerAppIo transcript's app, as Flower's `flwr new` lays it out. */
const PYQUICK = `[build-system]
requires = [
    "hatchling",
]
build-backend = "hatchling.build"

[project]
name = "pyquick"
version = "1.0.0"
dependencies = ["flwr>=1.28.0", "numpy>=1.24.0"]  # not read

[tool.flwr.app]
publisher = "peer"

[tool.flwr.app.components]
serverapp = "pyquick.server_app:app"
clientapp = 'pyquick.client_app:app'

[tool.flwr.app.config]
num-server-rounds = 3
lr = 0.1
"label" = "a # not a comment"
fast = true
`;

function appFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "pyproject-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("pyproject.toml as Flower reads it", () => {
  it("gives identity, components and typed config; arrays are skipped across lines", async () => {
    const dir = appFolder({ "pyproject.toml": PYQUICK });
    expect(await readFlowerAppToml(dir)).toEqual({
      publisher: "peer",
      name: "pyquick",
      version: "1.0.0",
      serverapp: "pyquick.server_app:app",
      clientapp: "pyquick.client_app:app",
      config: { "num-server-rounds": 3, lr: 0.1, label: "a # not a comment", fast: true },
    });
  });

  it("refuses a missing identity field, naming it", async () => {
    const dir = appFolder({ "pyproject.toml": PYQUICK.replace('publisher = "peer"', "") });
    await expect(readFlowerAppToml(dir)).rejects.toThrow('[tool.flwr.app] needs "publisher"');
  });

  it("finds a Python ServerApp only when the app carries its module, never the TypeScript stand-in", async () => {
    expect(await findPythonServerApp(appFolder({ "pyproject.toml": PYQUICK }))).toBeUndefined();
    const python = appFolder({ "pyproject.toml": PYQUICK, "pyquick/server_app.py": "" });
    expect((await findPythonServerApp(python))?.fabId).toBe("peer/pyquick");
    const standIn = PYQUICK.replace("pyquick.server_app:app", "fedbridge_typescript_app:serverapp");
    const ts = appFolder({ "pyproject.toml": standIn, "fedbridge_typescript_app.py": "" });
    expect(await findPythonServerApp(ts)).toBeUndefined();
    expect(await hasTypeScriptApp(python)).toBe(false);
    expect(await hasTypeScriptApp(appFolder({ "package.json": '{"fedbridge": {}}' }))).toBe(true);
  });

  it("takes overrides of the app's keys of the same kind, drops an unlisted seed, refuses the rest", async () => {
    const dir = appFolder({ "pyproject.toml": PYQUICK });
    const toml = await readFlowerAppToml(dir);
    if (toml === undefined) throw new Error("no pyproject.toml");
    expect(pythonRunConfig(toml, { "num-server-rounds": 2, seed: 7 })).toEqual({
      runConfig: { "num-server-rounds": 2, lr: 0.1, label: "a # not a comment", fast: true },
      overrideConfig: { "num-server-rounds": 2 },
    });
    expect(() => pythonRunConfig(toml, { epochs: 2 })).toThrow("has no key 'epochs'");
    expect(() => pythonRunConfig(toml, { lr: "fast" })).toThrow("lr=fast is a string");
  });
});
