import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { ConfigRecord } from "../records/config-record.ts";

/**
 * Typed reads of a stage's ConfigRecord. Each throws INVALID_ARGUMENT naming the stage and
 * the key, so a malformed instruction or reply fails with a message that says what is wrong.
 */
export class ConfigReader {
  constructor(
    private readonly record: ConfigRecord,
    private readonly where: string,
  ) {}

  number(key: string): number {
    const value = this.record.get(key);
    if (typeof value === "number") return value;
    if (
      typeof value === "bigint" &&
      value >= Number.MIN_SAFE_INTEGER &&
      value <= Number.MAX_SAFE_INTEGER
    )
      return Number(value);
    throw this.#wrong(key, "a number");
  }

  integer(key: string): number {
    const value = this.number(key);
    if (!Number.isSafeInteger(value)) throw this.#wrong(key, "an integer");
    return value;
  }

  string(key: string): string {
    const value = this.record.get(key);
    if (typeof value !== "string") throw this.#wrong(key, "a string");
    return value;
  }

  bytes(key: string): Uint8Array {
    const value = this.record.get(key);
    if (!(value instanceof Uint8Array)) throw this.#wrong(key, "bytes");
    return value;
  }

  bytesList(key: string): Uint8Array[] {
    const value = this.record.get(key);
    if (!Array.isArray(value) || !value.every((v) => v instanceof Uint8Array))
      throw this.#wrong(key, "a list of bytes");
    return value as Uint8Array[];
  }

  stringList(key: string): string[] {
    const value = this.record.get(key);
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
      throw this.#wrong(key, "a list of strings");
    return value as string[];
  }

  /** A list of node ids (wire integers come back as numbers where exact, else bigints). */
  nodeIdList(key: string): bigint[] {
    const value = this.record.get(key);
    if (
      !Array.isArray(value) ||
      !value.every(
        (v) => typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v)),
      )
    )
      throw this.#wrong(key, "a list of node ids");
    return (value as (number | bigint)[]).map((v) => BigInt(v));
  }

  nodeId(key: string): bigint {
    const value = this.record.get(key);
    if (typeof value === "bigint") return value;
    if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
    throw this.#wrong(key, "a node id");
  }

  #wrong(key: string, expected: string): FedbridgeError {
    const got = this.record.has(key) ? "something else" : "nothing";
    return new FedbridgeError(
      Code.InvalidArgument,
      `SecAgg+ ${this.where}: '${key}' must be ${expected}, got ${got}`,
    );
  }
}
