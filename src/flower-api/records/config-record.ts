import { entriesOf, type RecordInit, TypedRecord, type ValueKind } from "./typed-record.ts";

/** A config value: a number, bigint, boolean, string or bytes, or a homogeneous list of one. */
export type ConfigValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[]
  | readonly string[]
  | readonly Uint8Array[];

const CONFIG_KINDS: ReadonlySet<ValueKind> = new Set([
  "double",
  "sint64",
  "uint64",
  "bool",
  "string",
  "bytes",
  "doubleList",
  "sintList",
  "uintList",
  "boolList",
  "stringList",
  "bytesList",
]);

/**
 * Configuration by name, as Flower 1.28's `ConfigRecord`: scalars, strings, bytes and
 * homogeneous lists of them.
 *
 * @example
 * new ConfigRecord({ lr: 0.01, "local-epochs": 2, name: "site-1" })
 */
export class ConfigRecord extends TypedRecord<ConfigValue> {
  protected readonly recordName = "ConfigRecord";
  protected readonly allowedKinds = CONFIG_KINDS;
  protected readonly allowedText = "a number, boolean, string, bytes or a homogeneous list of one";

  constructor(init?: RecordInit<ConfigValue>) {
    super();
    for (const [key, value] of entriesOf(init)) this.set(key, value);
  }
}
