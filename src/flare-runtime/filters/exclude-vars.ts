import { z } from "zod";
import { removeArrays } from "../shareable/records.ts";
import type { Filter } from "./filter.ts";

export const excludeVarsArgs = z.strictObject({
  /** Array names to drop, or one regular expression that matches them. */
  exclude: z.union([z.array(z.string()), z.string()]),
});

/**
 * ExcludeVars: drops the named arrays (or those matching a regular expression) from what
 * passes, wherever they sit in the RecordDict; FLARE's filter of the same name.
 */
export function createExcludeVars(args: z.infer<typeof excludeVarsArgs>): Filter {
  const matches =
    typeof args.exclude === "string"
      ? (name: string) => new RegExp(args.exclude as string).test(name)
      : (name: string) => (args.exclude as string[]).includes(name);
  return {
    name: "ExcludeVars",
    process(shareable) {
      removeArrays(shareable.records, (entry) => matches(entry.name));
      return shareable;
    },
  };
}
