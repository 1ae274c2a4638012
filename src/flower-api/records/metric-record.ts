import { entriesOf, type RecordInit, TypedRecord, type ValueKind } from "./typed-record.ts";

/** A metric: a number (int or float) or a homogeneous list of numbers. */
export type MetricValue = number | bigint | readonly number[] | readonly bigint[];

const METRIC_KINDS: ReadonlySet<ValueKind> = new Set([
  "double",
  "sint64",
  "uint64",
  "doubleList",
  "sintList",
  "uintList",
]);

/**
 * Metrics by name, as Flower 1.28's `MetricRecord`: numbers and homogeneous number lists.
 * Booleans, strings and mixed lists are refused when set, with a FedbridgeError.
 *
 * @example
 * new MetricRecord({ loss: 0.25, "num-examples": 120 })
 */
export class MetricRecord extends TypedRecord<MetricValue> {
  protected readonly recordName = "MetricRecord";
  protected readonly allowedKinds = METRIC_KINDS;
  protected readonly allowedText = "a number or a list of numbers";

  constructor(init?: RecordInit<MetricValue>) {
    super();
    for (const [key, value] of entriesOf(init)) this.set(key, value);
  }
}
