/**
 * What decoding a protobuf message would cost in memory, read from its wire bytes before any
 * object is made. A size limit alone does not bound that: two bytes (`12 00`) decode into an
 * empty sub-message of about 40–120 bytes of heap, so a 32 MiB body of them is well over a
 * gigabyte of objects. The walk follows protobuf-es's decoder (same field dispatch, same packed
 * rule, unknown fields skipped as `readUnknownFields: false` drops them) and stops as soon as
 * the estimate passes the budget.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, FedbridgeError } from "../fedbridge-error.ts";

/** Default budget of `checkDecodeCost`, in estimated bytes of heap: 32 MiB. */
export const DEFAULT_DECODE_BUDGET = 32 * 2 ** 20;

/** protobuf-es's default recursion limit, so a message too deep for it is refused here too. */
const MAX_DEPTH = 100;

/**
 * Heap one decoded value keeps, measured with protobuf-es 2 on Node 20 and rounded up: a
 * Uint8Array view (107 bytes), a bigint (35), a number or bool in a list (10), a string (34 plus
 * its UTF-8 length; a two-byte string up to 55 plus it in some runs), a map entry's slot. A
 * message is charged by its shape (`messageCost`).
 */
const COST = { bytes: 112, bigint: 40, scalar: 12, string: 64, entry: 64 };

/**
 * An empty message's heap, by its shape: protobuf-es creates every field, and an array or
 * object for each list and map (measured from 42 bytes for Message to 232 for Run, whose
 * estimates here are 112 and 384).
 */
const messageCosts = new WeakMap<DescMessage, number>();
function messageCost(schema: DescMessage): number {
  let cost = messageCosts.get(schema);
  if (cost === undefined) {
    const containers = schema.fields.filter((f) => f.fieldKind === "list" || f.fieldKind === "map");
    cost = 64 + 16 * schema.fields.length + 64 * containers.length;
    messageCosts.set(schema, cost);
  }
  return cost;
}

const BIGINTS = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

interface Walk {
  cost: number;
  readonly budget: number;
}

/**
 * Walks `bytes` as a `schema` message and returns the estimated heap its decoding takes;
 * RESOURCE_EXHAUSTED as soon as that passes `budget`. Malformed bytes throw whatever the reader
 * throws (the caller reports them as INVALID_ARGUMENT, as it does decoding errors).
 */
export function checkDecodeCost(
  schema: DescMessage,
  bytes: Uint8Array,
  budget = DEFAULT_DECODE_BUDGET,
): number {
  const walk: Walk = { cost: messageCost(schema), budget };
  scanMessage(schema, new BinaryReader(bytes), bytes.byteLength, walk, 1);
  return walk.cost;
}

function charge(walk: Walk, cost: number): void {
  walk.cost += cost;
  if (walk.cost > walk.budget)
    throw new FedbridgeError(
      Code.ResourceExhausted,
      `decoding it would take over ${mib(walk.budget)} of memory (the limit per request)`,
    );
}

function scanMessage(
  schema: DescMessage,
  reader: BinaryReader,
  length: number,
  walk: Walk,
  depth: number,
): void {
  if (depth > MAX_DEPTH)
    throw new Error(`${schema.typeName} is nested deeper than ${MAX_DEPTH} levels`);
  const end = reader.pos + length;
  while (reader.pos < end) {
    const [fieldNo, wireType] = reader.tag();
    const field = schema.fields.find((f) => f.number === fieldNo);
    if (field === undefined) reader.skip(wireType, fieldNo, MAX_DEPTH - depth);
    else scanField(field, wireType, reader, walk, depth);
  }
  inBounds(reader);
}

function scanField(
  field: DescField,
  wireType: WireType,
  reader: BinaryReader,
  walk: Walk,
  depth: number,
): void {
  switch (field.fieldKind) {
    case "scalar":
      scanScalar(field.scalar, reader, walk);
      break;
    case "enum":
      reader.int32();
      charge(walk, COST.scalar);
      break;
    case "message":
      charge(walk, messageCost(field.message));
      scanMessage(field.message, reader, reader.uint32(), walk, depth + 1);
      break;
    case "list":
      if (field.listKind === "message") {
        charge(walk, messageCost(field.message));
        scanMessage(field.message, reader, reader.uint32(), walk, depth + 1);
      } else {
        const scalar = field.listKind === "enum" ? ScalarType.INT32 : field.scalar;
        const packable = scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES;
        if (wireType !== WireType.LengthDelimited || !packable) scanScalar(scalar, reader, walk);
        else {
          const end = reader.uint32() + reader.pos;
          while (reader.pos < end) scanScalar(scalar, reader, walk);
        }
      }
      break;
    case "map":
      scanMapEntry(field, reader, walk, depth);
      break;
  }
}

function scanMapEntry(
  field: DescField & { fieldKind: "map" },
  reader: BinaryReader,
  walk: Walk,
  depth: number,
): void {
  charge(walk, COST.entry);
  const end = reader.uint32() + reader.pos;
  while (reader.pos < end) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1) scanScalar(field.mapKey, reader, walk);
    else if (fieldNo !== 2) reader.skip(wireType, fieldNo, MAX_DEPTH - depth);
    else if (field.mapKind === "message") {
      charge(walk, messageCost(field.message));
      scanMessage(field.message, reader, reader.uint32(), walk, depth + 1);
    } else if (field.mapKind === "enum") {
      reader.int32();
      charge(walk, COST.scalar);
    } else scanScalar(field.scalar, reader, walk);
  }
  inBounds(reader);
}

/** Reads past one scalar the way protobuf-es reads it, and charges what it keeps. */
function scanScalar(type: ScalarType, reader: BinaryReader, walk: Walk): void {
  if (type === ScalarType.STRING || type === ScalarType.BYTES) {
    const length = reader.uint32();
    reader.pos += length;
    inBounds(reader);
    charge(walk, type === ScalarType.BYTES ? COST.bytes : COST.string + length);
    return;
  }
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      reader.pos += 8;
      break;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      reader.pos += 4;
      break;
    default:
      reader.skip(WireType.Varint);
  }
  inBounds(reader);
  charge(walk, BIGINTS.has(type) ? COST.bigint : COST.scalar);
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** What the reader's own (private) bounds check does: a length past the end is premature EOF. */
function inBounds(reader: BinaryReader): void {
  if (reader.pos > reader.len) throw new RangeError("premature EOF");
}
