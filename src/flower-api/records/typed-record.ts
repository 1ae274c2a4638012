import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/**
 * The wire kind of a MetricRecord or ConfigRecord value: the name of its case in the
 * `ConfigRecordValue` / `MetricRecordValue` oneof. JavaScript numbers do not say whether
 * they are ints or floats, so each record remembers the kind of each value: a record
 * decoded from the wire encodes back to the same bytes, and a value set in code gets the
 * kind Flower would give it (a safe integer is an int, anything else a float).
 */
export type ValueKind =
  | "double"
  | "sint64"
  | "uint64"
  | "bool"
  | "string"
  | "bytes"
  | "doubleList"
  | "sintList"
  | "uintList"
  | "boolList"
  | "stringList"
  | "bytesList";

const UINT64_MIN_UNSIGNED = 2n ** 63n; // ints from here on travel as uint64
const UINT64_MAX = 2n ** 64n - 1n;
const SINT64_MIN = -(2n ** 63n);

/** The kind Flower's serializer would give `value`, or a reason why it has none. */
export function inferKind(value: unknown): ValueKind | string {
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "string";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "number") return Number.isSafeInteger(value) ? "sint64" : "double";
  if (typeof value === "bigint") return bigintKind(value) ?? "an integer outside the 64-bit range";
  if (!Array.isArray(value)) return `unsupported type ${describe(value)}`;
  if (value.length === 0) return "doubleList";
  const types = new Set(value.map(describe));
  if (types.size > 1) return `a mixed list (${[...types].join(", ")})`;
  const first = value[0] as unknown;
  if (typeof first === "boolean") return "boolList";
  if (typeof first === "string") return "stringList";
  if (first instanceof Uint8Array) return "bytesList";
  if (typeof first === "number")
    return value.every(Number.isSafeInteger) ? "sintList" : "doubleList";
  if (typeof first === "bigint") {
    const kinds = new Set(value.map((v: bigint) => bigintKind(v)));
    if (kinds.has(undefined)) return "a list with an integer outside the 64-bit range";
    return kinds.has("uint64")
      ? value.some((v: bigint) => v < 0n)
        ? "a list mixing negative and >2^63 ints"
        : "uintList"
      : "sintList";
  }
  return `a list of ${describe(first)}`;
}

function bigintKind(value: bigint): "sint64" | "uint64" | undefined {
  if (value >= SINT64_MIN && value < UINT64_MIN_UNSIGNED) return "sint64";
  if (value >= UINT64_MIN_UNSIGNED && value <= UINT64_MAX) return "uint64";
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return "bytes";
  if (Array.isArray(value)) return "list";
  return typeof value;
}

/**
 * A string-keyed record of typed values in insertion order, the common part of
 * MetricRecord and ConfigRecord. Subclasses name the kinds they accept.
 */
export abstract class TypedRecord<V> extends Map<string, V> {
  readonly #kinds = new Map<string, ValueKind>();
  protected abstract readonly recordName: string;
  protected abstract readonly allowedKinds: ReadonlySet<ValueKind>;
  protected abstract readonly allowedText: string;

  override set(key: string, value: V): this {
    const kind = inferKind(value);
    if (!this.allowedKinds.has(kind as ValueKind)) {
      const got = kind.includes(" ") ? kind : `a ${kind} value`;
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${this.recordName} value for '${key}' must be ${this.allowedText}; got ${got}`,
      );
    }
    return this.setWithKind(key, value, kind as ValueKind);
  }

  /** Sets a value with an explicit wire kind (used when decoding, to keep int vs float). */
  setWithKind(key: string, value: V, kind: ValueKind): this {
    if (typeof key !== "string") {
      throw new FedbridgeError(Code.InvalidArgument, `${this.recordName} keys must be strings`);
    }
    if (!this.allowedKinds.has(kind)) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${this.recordName} cannot hold a ${kind} value ('${key}')`,
      );
    }
    this.#kinds.set(key, kind);
    return super.set(key, value);
  }

  /** The wire kind of the value at `key`. */
  kindOf(key: string): ValueKind | undefined {
    return this.#kinds.get(key);
  }

  override delete(key: string): boolean {
    this.#kinds.delete(key);
    return super.delete(key);
  }

  override clear(): void {
    this.#kinds.clear();
    super.clear();
  }

  /** A plain object of the values, for logs and JSON. */
  toObject(): Record<string, V> {
    return Object.fromEntries(this);
  }
}

export type RecordInit<V> = Iterable<readonly [string, V]> | Readonly<Record<string, V>>;

/** The entries of a record initializer: a Map, entry pairs, or a plain object. */
export function entriesOf<V>(init: RecordInit<V> | undefined): Iterable<readonly [string, V]> {
  if (init === undefined) return [];
  if (Symbol.iterator in init) return init as Iterable<readonly [string, V]>;
  return Object.entries(init as Record<string, V>);
}
