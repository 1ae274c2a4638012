import { describe, expect, it } from "vitest";
import { parseConfigOverrides } from "./run-config.ts";

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
