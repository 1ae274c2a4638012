import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Code, FedbridgeError } from "./fedbridge-error.ts";
import { parseOrRefuse } from "./parse-or-refuse.ts";

const schema = z.strictObject({ rounds: z.number().int().positive(), names: z.array(z.string()) });

describe("parseOrRefuse", () => {
  it("gives the parsed value", () => {
    expect(parseOrRefuse(schema, { rounds: 3, names: [] }, "job config")).toEqual({
      rounds: 3,
      names: [],
    });
  });

  it("refuses with InvalidArgument naming where, the first bad field and why", () => {
    const refuse = (value: unknown, whole?: string) => {
      try {
        parseOrRefuse(schema, value, "job config", whole);
      } catch (error) {
        expect(error).toBeInstanceOf(FedbridgeError);
        expect((error as FedbridgeError).code).toBe(Code.InvalidArgument);
        return (error as FedbridgeError).message;
      }
      throw new Error("not refused");
    };
    expect(refuse({ rounds: 0, names: [] })).toMatch(/^job config: rounds: .*>0/);
    expect(refuse({ rounds: 1, names: ["a", 2] })).toMatch(/^job config: names\.1: .*string/);
    expect(refuse("nope")).toMatch(/^job config: \(top level\): .*object/);
    expect(refuse("nope", "args")).toMatch(/^job config: args: /);
  });
});
