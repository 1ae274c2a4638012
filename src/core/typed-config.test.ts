import { describe, expect, it } from "vitest";
import { checkConfigOverrides, type TypedConfig, typeConfig } from "./typed-config.ts";

const text = `{ "config": { "rounds": 3, "lr": 1.0, "mu": 0.1, "big": 1e3, "iid": true,
  "name": "iid", "list": [1], "nothing": null } }`;
const config: TypedConfig = typeConfig(JSON.parse(text).config, text, ["config"]);
const app = { where: "--run-config", owner: "app" };
const check = (overrides: Record<string, unknown>) => () =>
  checkConfigOverrides(config, overrides, app);

describe("typeConfig", () => {
  it("types each key by its default as written: 3 integer, 1.0 and 1e3 numbers", () => {
    expect(config.types).toEqual({
      rounds: "integer",
      lr: "number",
      mu: "number",
      big: "number",
      iid: "boolean",
      name: "string",
      list: "list",
      nothing: "any",
    });
  });

  it("without the source text's config, integral values count as integers", () => {
    expect(typeConfig({ a: 2, b: 0.5 }, "{}", ["config"]).types).toEqual({
      a: "integer",
      b: "number",
    });
  });
});

describe("checkConfigOverrides", () => {
  it("accepts overrides of each key's type, and seed", () => {
    expect(
      check({ rounds: 5, lr: 0.5, mu: 2, big: 7n, iid: false, name: "x", nothing: "y", seed: 9 }),
    ).not.toThrow();
    expect(check({})).not.toThrow();
  });

  it("refuses a value of the wrong type, naming key, value, type and default", () => {
    expect(check({ rounds: "abc" })).toThrow(
      "--run-config: rounds=abc: expected an integer (the app's default is 3)",
    );
    expect(check({ rounds: 2.5 })).toThrow("rounds=2.5: expected an integer");
    expect(check({ lr: "fast" })).toThrow("lr=fast: expected a number (the app's default is 1.0)");
    expect(check({ iid: 1 })).toThrow("iid=1: expected true or false");
    expect(check({ name: 12 })).toThrow(
      `name=12: expected a string (the app's default is "iid"); quote it to pass it as text: name='12'`,
    );
    expect(check({ list: "a b" })).toThrow(
      `list="a b": expected a list, which cannot be overridden`,
    );
    expect(check({ seed: "x" })).toThrow("--run-config: seed=x: expected an integer");
    expect(check({ lr: Number.POSITIVE_INFINITY })).toThrow("expected a number");
  });

  it("refuses an unknown key, listing the known ones", () => {
    expect(check({ foo: 1 })).toThrow(
      "--run-config: unknown key 'foo' (the app's keys: rounds, lr, mu, big, iid, name, list, nothing)",
    );
    const empty = { values: {}, types: {} };
    expect(() =>
      checkConfigOverrides(empty, { foo: 1 }, { where: "run config", owner: "job" }),
    ).toThrow("run config: unknown key 'foo' (the job has none)");
  });
});
