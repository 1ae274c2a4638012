import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { ArrayRecord } from "./array-record.ts";
import { ConfigRecord } from "./config-record.ts";
import { MetricRecord } from "./metric-record.ts";
import { entriesOf, type RecordInit } from "./typed-record.ts";

export type AnyRecord = ArrayRecord | MetricRecord | ConfigRecord;

/**
 * A message's content: records by name, as Flower 1.28's `RecordDict`. By convention a
 * training reply carries `arrays` (ArrayRecord) and `metrics` (MetricRecord).
 *
 * @example
 * new RecordDict({ arrays: model, config: new ConfigRecord({ lr: 0.1 }) })
 */
export class RecordDict extends Map<string, AnyRecord> {
  constructor(init?: RecordInit<AnyRecord>) {
    super();
    for (const [key, value] of entriesOf(init)) this.set(key, value);
  }

  override set(key: string, value: AnyRecord): this {
    if (typeof key !== "string")
      throw new FedbridgeError(Code.InvalidArgument, "RecordDict keys must be strings");
    if (
      !(
        value instanceof ArrayRecord ||
        value instanceof MetricRecord ||
        value instanceof ConfigRecord
      )
    ) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `RecordDict value for '${key}' must be an ArrayRecord, MetricRecord or ConfigRecord`,
      );
    }
    return super.set(key, value);
  }

  get arrayRecords(): Map<string, ArrayRecord> {
    return this.#only(ArrayRecord);
  }

  get metricRecords(): Map<string, MetricRecord> {
    return this.#only(MetricRecord);
  }

  get configRecords(): Map<string, ConfigRecord> {
    return this.#only(ConfigRecord);
  }

  #only<R extends AnyRecord>(type: abstract new (...args: never[]) => R): Map<string, R> {
    const out = new Map<string, R>();
    for (const [key, record] of this) if (record instanceof type) out.set(key, record);
    return out;
  }
}
