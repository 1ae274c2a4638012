import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  type Array as ArrayProto,
  type ArrayRecord as ArrayRecordProto,
  ArrayRecordSchema,
  ArraySchema,
  type ConfigRecord as ConfigRecordProto,
  ConfigRecordSchema,
  type ConfigRecordValue,
  type MetricRecord as MetricRecordProto,
  MetricRecordSchema,
  type MetricRecordValue,
  type RecordDict as RecordDictProto,
  RecordDictSchema,
} from "../../gen/flwr/proto/recorddict_pb.ts";
import { FlowerArray } from "./array.ts";
import { ArrayRecord } from "./array-record.ts";
import { ConfigRecord, type ConfigValue } from "./config-record.ts";
import { MetricRecord, type MetricValue } from "./metric-record.ts";
import { type AnyRecord, RecordDict } from "./record-dict.ts";
import type { TypedRecord, ValueKind } from "./typed-record.ts";

/** Records to and from `flwr.proto` messages, exactly as Flower 1.28 serializes them. */

export function arrayToProto(array: FlowerArray): ArrayProto {
  return create(ArraySchema, {
    dtype: array.dtype,
    shape: [...array.shape],
    stype: array.stype,
    data: array.data,
  });
}

export function arrayFromProto(proto: ArrayProto): FlowerArray {
  return new FlowerArray({
    dtype: proto.dtype,
    shape: proto.shape,
    stype: proto.stype,
    data: proto.data,
  });
}

export function arrayRecordToProto(record: ArrayRecord): ArrayRecordProto {
  return create(ArrayRecordSchema, {
    items: [...record].map(([key, value]) => ({ key, value: arrayToProto(value) })),
  });
}

export function arrayRecordFromProto(proto: ArrayRecordProto): ArrayRecord {
  return new ArrayRecord(
    proto.items.map((item) => [item.key, arrayFromProto(item.value ?? create(ArraySchema))]),
  );
}

type ValueProto = ConfigRecordValue["value"] | MetricRecordValue["value"];

function valueToProto(record: TypedRecord<unknown>, key: string, value: unknown): ValueProto {
  const kind = record.kindOf(key) as ValueKind;
  switch (kind) {
    case "sint64":
    case "uint64":
      return { case: kind, value: BigInt(value as number | bigint) };
    case "sintList":
    case "uintList":
      return {
        case: kind,
        value: { vals: (value as (number | bigint)[]).map((v) => BigInt(v)) } as never,
      };
    case "doubleList":
    case "boolList":
    case "stringList":
    case "bytesList":
      return { case: kind, value: { vals: [...(value as unknown[])] } as never };
    default:
      return { case: kind, value } as ValueProto;
  }
}

function valueFromProto(proto: ValueProto, where: string): [unknown, ValueKind] {
  switch (proto.case) {
    case undefined:
      throw new FedbridgeError(Code.InvalidArgument, `${where} has no value`);
    case "sint64":
    case "uint64":
      return [narrow(proto.value), proto.case];
    case "sintList":
    case "uintList":
      return [proto.value.vals.map(narrow), proto.case];
    case "doubleList":
    case "boolList":
    case "stringList":
    case "bytesList":
      return [proto.value.vals, proto.case];
    default:
      return [proto.value, proto.case];
  }
}

/** A wire integer as a number where that is exact, else a bigint. */
function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

export function metricRecordToProto(record: MetricRecord): MetricRecordProto {
  return create(MetricRecordSchema, {
    items: [...record].map(([key, value]) => ({
      key,
      value: { value: valueToProto(record, key, value) as MetricRecordValue["value"] },
    })),
  });
}

export function metricRecordFromProto(proto: MetricRecordProto): MetricRecord {
  const record = new MetricRecord();
  for (const { key, value } of proto.items) {
    const [decoded, kind] = valueFromProto(
      value?.value ?? { case: undefined },
      `MetricRecord item '${key}'`,
    );
    record.setWithKind(key, decoded as MetricValue, kind);
  }
  return record;
}

export function configRecordToProto(record: ConfigRecord): ConfigRecordProto {
  return create(ConfigRecordSchema, {
    items: [...record].map(([key, value]) => ({
      key,
      value: { value: valueToProto(record, key, value) as ConfigRecordValue["value"] },
    })),
  });
}

export function configRecordFromProto(proto: ConfigRecordProto): ConfigRecord {
  const record = new ConfigRecord();
  for (const { key, value } of proto.items) {
    const [decoded, kind] = valueFromProto(
      value?.value ?? { case: undefined },
      `ConfigRecord item '${key}'`,
    );
    record.setWithKind(key, decoded as ConfigValue, kind);
  }
  return record;
}

export function recordDictToProto(dict: RecordDict): RecordDictProto {
  return create(RecordDictSchema, {
    items: [...dict].map(([key, record]) => ({ key, value: recordToProto(record) })),
  });
}

function recordToProto(record: AnyRecord): RecordDictProto["items"][number]["value"] {
  if (record instanceof ArrayRecord)
    return { case: "arrayRecord", value: arrayRecordToProto(record) };
  if (record instanceof MetricRecord)
    return { case: "metricRecord", value: metricRecordToProto(record) };
  return { case: "configRecord", value: configRecordToProto(record) };
}

export function recordDictFromProto(proto: RecordDictProto): RecordDict {
  const dict = new RecordDict();
  for (const { key, value } of proto.items) {
    switch (value.case) {
      case "arrayRecord":
        dict.set(key, arrayRecordFromProto(value.value));
        break;
      case "metricRecord":
        dict.set(key, metricRecordFromProto(value.value));
        break;
      case "configRecord":
        dict.set(key, configRecordFromProto(value.value));
        break;
      default:
        throw new FedbridgeError(Code.InvalidArgument, `RecordDict item '${key}' holds no record`);
    }
  }
  return dict;
}

/** Serializes as `flwr.proto.ArrayRecord`: the bytes of final-arrays.pb and of its SHA-256. */
export function encodeArrayRecord(record: ArrayRecord): Uint8Array {
  return toBinary(ArrayRecordSchema, arrayRecordToProto(record));
}

export function decodeArrayRecord(bytes: Uint8Array): ArrayRecord {
  return arrayRecordFromProto(decodeOrThrow(ArrayRecordSchema, bytes, "ArrayRecord"));
}

export function encodeRecordDict(dict: RecordDict): Uint8Array {
  return toBinary(RecordDictSchema, recordDictToProto(dict));
}

export function decodeRecordDict(bytes: Uint8Array): RecordDict {
  return recordDictFromProto(decodeOrThrow(RecordDictSchema, bytes, "RecordDict"));
}

export function encodeMetricRecord(record: MetricRecord): Uint8Array {
  return toBinary(MetricRecordSchema, metricRecordToProto(record));
}

export function decodeMetricRecord(bytes: Uint8Array): MetricRecord {
  return metricRecordFromProto(decodeOrThrow(MetricRecordSchema, bytes, "MetricRecord"));
}

export function encodeConfigRecord(record: ConfigRecord): Uint8Array {
  return toBinary(ConfigRecordSchema, configRecordToProto(record));
}

export function decodeConfigRecord(bytes: Uint8Array): ConfigRecord {
  return configRecordFromProto(decodeOrThrow(ConfigRecordSchema, bytes, "ConfigRecord"));
}

/** Decodes with a FedbridgeError that names the type when the bytes are not valid protobuf. */
export function decodeOrThrow<T extends Parameters<typeof fromBinary>[0]>(
  schema: T,
  bytes: Uint8Array,
  what: string,
): ReturnType<typeof fromBinary<T>> {
  try {
    return fromBinary(schema, bytes);
  } catch (cause) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `invalid ${what} bytes: ${FedbridgeError.from(cause).message}`,
      { cause },
    );
  }
}
