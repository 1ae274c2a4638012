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

/** Whether a bytes field of LARGE_BYTES or more is anywhere in `message`. */
export function holdsLargeBytes(schema: DescMessage, message: object): boolean {
  return schema.fields.some((field) =>
    valuesOf(field, message as Fields).some((value) =>
      value instanceof Uint8Array
        ? value.byteLength >= LARGE_BYTES
        : field.message !== undefined && holdsLargeBytes(field.message, value as object),
    ),
  );
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
      const tag = new BinaryWriter().tag(field.number, WireType.LengthDelimited).uint32(inner);
      pieces[at] = tag.finish();
      length += (pieces[at] as Uint8Array).byteLength + inner;
    }
  }
  return length;
}

const EMPTY = new Uint8Array(0);

const isSmall = (bytes: Uint8Array) => bytes.byteLength < LARGE_BYTES;

/**
 * What a field holds in `message` that may hold large bytes: its nested messages, or its
 * bytes; nothing for any other field (encoded by toBinary as it is).
 */
function valuesOf(field: DescField, message: Fields): unknown[] {
  let value: unknown;
  if (field.oneof) {
    const oneof = message[field.oneof.localName] as { case?: string; value?: unknown };
    if (oneof.case !== field.localName) return [];
    value = oneof.value;
  } else value = message[field.localName];
  if (field.fieldKind === "message") return value === undefined ? [] : [value];
  if (field.fieldKind === "list" && field.listKind === "message") return value as unknown[];
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES) return [value];
  return [];
}

/** An init for `schema` that sets only `field`, as `message` has it. */
function onlyField(field: DescField, message: Fields): Record<string, unknown> {
  if (field.oneof) {
    const oneof = message[field.oneof.localName] as { case?: string };
    return oneof.case === field.localName ? { [field.oneof.localName]: oneof } : {};
  }
  return { [field.localName]: message[field.localName] };
}
