import { InvalidArgumentError, Option } from "commander";
import { LOG_FORMAT_ENV, LOG_FORMATS } from "../core/logger.ts";
import type { UserConfig } from "../flower-api/app/context.ts";
import { parseConfigOverrides } from "../flower-api/app/run-config.ts";

/** Commander argument parsers that refuse bad values with one clear line. */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n > 0))
    throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

export function integer(value: string): number {
  if (!/^-?\d+$/.test(value.trim()))
    throw new InvalidArgumentError(`expected an integer, got '${value}'`);
  return Number(value);
}

export function runConfig(value: string): UserConfig {
  try {
    return parseConfigOverrides(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.replace(/^--run-config: /, ""));
  }
}

/** `--log-format text|json`, the same on every long-running command. */
export function logFormatOption(): Option {
  return new Option(
    "--log-format <format>",
    `how stdout shows the log: text for people, json for machines (default: $${LOG_FORMAT_ENV}, else text)`,
  ).choices(LOG_FORMATS);
}
