import { Code, FedbridgeError, type UserConfig } from "fedbridge";

/**
 * The name run config `key` gives among `choices` (`fallback` when unset); a clear error naming
 * the allowed ones for any other value. `what` names the setting in that error.
 */
export function choiceFromConfig<Name extends string>(
  runConfig: UserConfig,
  key: string,
  choices: Record<Name, unknown>,
  fallback: NoInfer<Name>,
  what: string,
): Name {
  const name = runConfig[key] ?? fallback;
  if (typeof name !== "string" || !Object.hasOwn(choices, name))
    throw new FedbridgeError(
      Code.InvalidArgument,
      `unknown ${what} ${JSON.stringify(name)} in run config '${key}'; allowed: ${Object.keys(choices).join(", ")}`,
    );
  return name as Name;
}
