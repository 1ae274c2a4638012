import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAppManifest } from "./load-app.ts";
import { checkRunConfig, parseConfigOverrides } from "./run-config.ts";

describe("parseConfigOverrides", () => {
  it("reads numbers, booleans and strings", () => {
    expect(
      parseConfigOverrides("num-server-rounds=5 lr=0.1 iid=true name=site-1 q='a b' e=1e-3"),
    ).toEqual({
      "num-server-rounds": 5,
      lr: 0.1,
      iid: true,
      name: "site-1",
      q: "a b",
      e: 0.001,
    });
    expect(parseConfigOverrides("  ")).toEqual({});
  });

  it("names what it cannot read", () => {
    expect(() => parseConfigOverrides("rounds")).toThrow(
      /--run-config: cannot read 'rounds'; expected key=value/,
    );
    expect(() => parseConfigOverrides("a=1 =2")).toThrow(/cannot read '=2'/);
    expect(() => parseConfigOverrides("a='x")).toThrow(/cannot read/);
  });
});

describe("checkRunConfig", () => {
  /** An app folder whose package.json is written by hand, as a user would. */
  const appWithConfig = async (configJson: string) => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-run-config-"));
    await writeFile(join(dir, "app.ts"), "");
    await writeFile(
      join(dir, "package.json"),
      `{ "fedbridge": { "serverapp": "./app.ts", "clientapp": "./app.ts",\n  "config": ${configJson} } }`,
    );
    return readAppManifest(dir);
  };

  it("types keys by their defaults as written in package.json: 1.0 is a number, 3 an integer", async () => {
    const manifest = await appWithConfig(`{ "lr": 1.0, "num-server-rounds": 3, "iid": true }`);
    const overrides = parseConfigOverrides("lr=0.5 num-server-rounds=5 iid=false seed=4");
    expect(() => checkRunConfig(manifest, overrides, "--run-config")).not.toThrow();
    expect(() =>
      checkRunConfig(manifest, parseConfigOverrides("num-server-rounds=2.5"), "--run-config"),
    ).toThrow("--run-config: num-server-rounds=2.5: expected an integer (the app's default is 3)");
    expect(() => checkRunConfig(manifest, { foo: 1 })).toThrow(
      "run config: unknown key 'foo' (the app's keys: lr, num-server-rounds, iid)",
    );
  });

  it("an app without config allows only seed", async () => {
    const manifest = await appWithConfig("{}");
    expect(() => checkRunConfig(manifest, { seed: 1 })).not.toThrow();
    expect(() => checkRunConfig(manifest, { lr: 1 })).toThrow(
      "unknown key 'lr' (the app has none)",
    );
  });
});
