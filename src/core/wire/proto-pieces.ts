/**
 * A message whose large bytes fields sit in nested messages (a run's final model: RunEvent >
 * RunFinished > RunResult > ArrayRecord > Array.data), encoded with each large field copied
 * once. protobuf-es's writer copies a nested message's bytes once per level and grows its
 * buffer by doubling: about 4 s of CPU and several times the model's size in memory for a
 * 400 MB model. The bytes are toBinary's (fields in number order); every field without large
 * bytes in it is encoded by toBinary itself.
 */
import { create, type DescField, type DescMessage, ScalarType, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** Bytes fields at least this large are copied once, not through protobuf-es's writer. */
export const LARGE_BYTES = 64 * 1024;

type Fields = Record<string, unknown> & { $unknown?: unknown[] };

/**
 * Whether a bytes field of LARGE_BYTES or more is anywhere in `message`. Asked of every message
 * gRPC sends, so it looks only at fields that can lead to bytes (a node's metadata cannot).
 */
export function holdsLargeBytes(schema: DescMessage, message: object): boolean {
  for (const field of fieldsToBytes(schema)) {
    const value = fieldValue(field, message as Fields);
    if (value instanceof Uint8Array) {
      if (value.byteLength >= LARGE_BYTES) return true;
    } else if (Array.isArray(value)) {
      for (const item of value)
        if (holdsLargeBytes(field.message as DescMessage, item as object)) return true;
    } else if (
      value !== undefined &&
      holdsLargeBytes(field.message as DescMessage, value as object)
    )
      return true;
  }
  return false;
}

/** Each message type's fields that are bytes or lead to messages holding bytes fields. */
const toBytes = new WeakMap<DescMessage, readonly DescField[]>();

function fieldsToBytes(
  schema: DescMessage,
  visiting = new Set<DescMessage>(),
): readonly DescField[] {
  const known = toBytes.get(schema);
  if (known !== undefined) return known;
  visiting.add(schema);
  const fields = schema.fields.filter((field) => {
    if (field.fieldKind === "scalar") return field.scalar === ScalarType.BYTES;
    const nested =
      field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message");
    // A type already being looked at (a recursive one) counts as leading to bytes: safe.
    return (
      nested && (visiting.has(field.message) || fieldsToBytes(field.message, visiting).length > 0)
    );
  });
  visiting.delete(schema);
  toBytes.set(schema, fields);
  return fields;
}

/** `message` encoded into one buffer of its exact size, each large bytes field copied once. */
export function encodeInPieces(schema: DescMessage, message: object): Uint8Array {
  const pieces: Uint8Array[] = [];
  const out = new Uint8Array(collect(schema, message as Fields, pieces));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.byteLength;
  }
  return out;
}

/** Appends the pieces of `message`'s encoding to `pieces`; returns their length. */
function collect(schema: DescMessage, message: Fields, pieces: Uint8Array[]): number {
  if (message.$unknown?.length || !holdsLargeBytes(schema, message)) {
    const whole = toBinary(schema, message as never);
    pieces.push(whole);
    return whole.byteLength;
  }
  let length = 0;
  for (const field of [...schema.fields].sort((a, b) => a.number - b.number)) {
    const values = valuesOf(field, message);
    if (values.length === 0 || values.every((v) => v instanceof Uint8Array && isSmall(v))) {
      const alone = toBinary(schema, create(schema, onlyField(field, message)) as never);
      pieces.push(alone);
      length += alone.byteLength;
      continue;
    }
    for (const value of values) {
      const at = pieces.push(EMPTY) - 1; // the tag and length, once the length is known
      let inner: number;
      if (value instanceof Uint8Array) {
        pieces.push(value);
        inner = value.byteLength;
      } else inner = collect(field.message as DescMessage, value as Fields, pieces);
      const tag = lengthTag(field.number, inner);
      pieces[at] = tag;
      length += tag.byteLength + inner;
    }
  }
  return length;
}

const EMPTY = new Uint8Array(0);

/** The tag and length that open a length-delimited field of `length` bytes. */
export function lengthTag(fieldNumber: number, length: number): Uint8Array {
  return new BinaryWriter().tag(fieldNumber, WireType.LengthDelimited).uint32(length).finish();
}

const isSmall = (bytes: Uint8Array) => bytes.byteLength < LARGE_BYTES;

/**
 * What a field holds in `message` that may hold large bytes: its nested messages, or its
 * bytes; nothing for any other field (encoded by toBinary as it is).
 */
function valuesOf(field: DescField, message: Fields): unknown[] {
  const value = fieldValue(field, message);
  const bytes = field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES;
  if (bytes || field.fieldKind === "message") return value === undefined ? [] : [value];
  if (field.fieldKind === "list" && field.listKind === "message") return value as unknown[];
  return [];
}

/** A field's value in `message`: a oneof's only when it is the case set. */
function fieldValue(field: DescField, message: Fields): unknown {
  if (!field.oneof) return message[field.localName];
  const oneof = message[field.oneof.localName] as { case?: string; value?: unknown };
  return oneof.case === field.localName ? oneof.value : undefined;
}

/** An init for `schema` that sets only `field`, as `message` has it. */
function onlyField(field: DescField, message: Fields): Record<string, unknown> {
  if (field.oneof) {
    const oneof = message[field.oneof.localName] as { case?: string };
    return oneof.case === field.localName ? { [field.oneof.localName]: oneof } : {};
  }
  return { [field.localName]: message[field.localName] };
}
