import type { z } from "zod";
import { Code, FedbridgeError } from "./fedbridge-error.ts";

/**
 * `value` checked against `schema`, or an InvalidArgument in one line that names `where`, the
 * first bad field and why: `job config: numRounds: Too small: expected number to be >0`.
 * `whole` stands for the field when the value as a whole is wrong (default `(top level)`).
 * Every typed input (job config, workflow and filter args, site messages, startup kits, app
 * manifests) is refused this way, so a user always learns which field to fix.
 */
export function parseOrRefuse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
  whole = "(top level)",
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join(".") || whole;
  throw new FedbridgeError(
    Code.InvalidArgument,
    `${where}: ${field}: ${issue?.message ?? "invalid"}`,
  );
}
