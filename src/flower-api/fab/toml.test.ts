import { describe, expect, it } from "vitest";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseToml } from "./toml.ts";

describe("parseToml (the TOML of a pyproject.toml)", () => {
  it("reads tables, dotted and quoted keys, strings, numbers, booleans and arrays", () => {
    const text = [
      "# a comment",
      "[project]",
      'name = "pyquick" # trailing comment',
      "version = '2.1.0'",
      "dependencies = [",
      '  "numpy>=1.24",',
      '  "flwr[simulation]",',
      "]",
      'description = """',
      'two "lines"',
      'here"""',
      "[tool.flwr.app]",
      'publisher = "lab"',
      "[tool.flwr.app.config]",
      "num-server-rounds = 3",
      "lr = 0.1",
      "big = 1_000",
      "exp = 1e-3",
      "on = true",
      '"quoted.key" = "a\\tb\\u00e9"',
      "nested.inner = -2",
      "inline = { a = 1, b = 'x' }",
      "[[tool.list]]",
      "n = 1",
      "[[tool.list]]",
      "n = 2",
    ].join("\n");
    expect(parseToml(text, "t")).toEqual({
      project: {
        name: "pyquick",
        version: "2.1.0",
        dependencies: ["numpy>=1.24", "flwr[simulation]"],
        description: 'two "lines"\nhere',
      },
      tool: {
        flwr: {
          app: {
            publisher: "lab",
            config: {
              "num-server-rounds": 3,
              lr: 0.1,
              big: 1000,
              exp: 0.001,
              on: true,
              "quoted.key": "a\tbé",
              nested: { inner: -2 },
              inline: { a: 1, b: "x" },
            },
          },
        },
        list: [{ n: 1 }, { n: 2 }],
      },
    });
  });

  it.each([
    ['name = "open', "line 1: a string is not closed"],
    ["a = 1\na = 2", "line 2: key a is defined twice"],
    ["when = 1979-05-27", "line 1: cannot read the value 1979-05-27"],
    ["[project\nname = 1", "line 1: expected ]"],
    ["a = 1 b = 2", "line 1: expected the end of the line"],
  ])("refuses %j naming the line", (text, message) => {
    expect(() => parseToml(text, "pyproject.toml")).toThrow(FedbridgeError);
    expect(() => parseToml(text, "pyproject.toml")).toThrow(`pyproject.toml ${message}`);
  });
});
