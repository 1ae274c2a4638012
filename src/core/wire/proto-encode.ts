/**
 * protobuf-es's `toBinary`, without its copies of a large bytes field. Its writer grows a
 * buffer by doubling and returns a slice of it, so a 5 MiB object costs an 8 MiB buffer and two
 * copies before gRPC frames it; here the other fields are encoded as usual and the large field,
 * when it is the message's last, is appended once into a buffer of the exact size. The bytes
 * are the same as `toBinary`'s: protobuf-es writes fields in declaration order, this field last.
 */
import { type DescMessage, type MessageShape, ScalarType, toBinary } from "@bufbuild/protobuf";
import { encodeInPieces, holdsLargeBytes, LARGE_BYTES, lengthTag } from "./proto-pieces.ts";

const NO_BYTES = new Uint8Array(0);

/** Whole encodings made around their last bytes field (placeLastBytes), by that field's bytes. */
const placed = new WeakMap<Uint8Array, Uint8Array>();

/**
 * Room for the last bytes field of `message` (`size` bytes, which `write` fills) inside a whole
 * encoding of it, its other fields as they are now. encodeMessage of a message with the same
 * other fields and these very bytes returns that encoding, copying nothing: an object a
 * browser's node pushes is joined straight into the request that carries it.
 */
export function placeLastBytes<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  size: number,
  write: (into: Uint8Array) => void,
): Uint8Array {
  const last = largeField(schema);
  if (last === undefined) throw new TypeError(`${schema.typeName} does not end in a bytes field`);
  const fields = toBinary(schema, { ...message, [last.localName]: NO_BYTES });
  const tag = lengthTag(last.number, size);
  const whole = new Uint8Array(fields.byteLength + tag.byteLength + size);
  whole.set(fields);
  whole.set(tag, fields.byteLength);
  const bytes = whole.subarray(fields.byteLength + tag.byteLength);
  write(bytes);
  placed.set(bytes, whole);
  return bytes;
}

/**
 * A whole encoding of `message` as pieces, its last bytes field being `pieces` (`size` bytes in
 * all), which stay as they are: written one after the other (a gRPC request on a stream of our
 * own), they are the bytes encodeMessage would give, and nothing was copied to make them.
 */
export function encodeAroundLastBytes<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  size: number,
  pieces: readonly Uint8Array[],
): Uint8Array[] {
  const last = largeField(schema);
  if (last === undefined) throw new TypeError(`${schema.typeName} does not end in a bytes field`);
  const fields = toBinary(schema, { ...message, [last.localName]: NO_BYTES });
  const tag = lengthTag(last.number, size);
  const head = new Uint8Array(fields.byteLength + tag.byteLength);
  head.set(fields);
  head.set(tag, fields.byteLength);
  return [head, ...pieces];
}

export function encodeMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Uint8Array {
  const last = largeField(schema);
  const large = last && (message as Record<string, unknown>)[last.localName];
  if (message.$unknown?.length) return toBinary(schema, message);
  if (last === undefined || !(large instanceof Uint8Array) || large.byteLength < LARGE_BYTES)
    return holdsLargeBytes(schema, message)
      ? encodeInPieces(schema, message)
      : toBinary(schema, message);
  const fields = toBinary(schema, { ...message, [last.localName]: NO_BYTES });
  const tag = lengthTag(last.number, large.byteLength);
  const whole = placed.get(large);
  if (whole !== undefined && isEncoding(whole, fields, tag, large)) return whole;
  const out = new Uint8Array(fields.byteLength + tag.byteLength + large.byteLength);
  out.set(fields);
  out.set(tag, fields.byteLength);
  out.set(large, fields.byteLength + tag.byteLength);
  return out;
}

/** The schema's last field when it is a plain bytes field (not in a oneof). */
function largeField(schema: DescMessage) {
  const last = schema.fields[schema.fields.length - 1];
  return last?.fieldKind === "scalar" && last.scalar === ScalarType.BYTES && !last.oneof
    ? last
    : undefined;
}

/** Whether `whole`, made around `large` (placeLastBytes), is `fields`, `tag`, then `large`. */
function isEncoding(whole: Uint8Array, fields: Uint8Array, tag: Uint8Array, large: Uint8Array) {
  if (whole.byteLength !== fields.byteLength + tag.byteLength + large.byteLength) return false;
  for (let i = 0; i < fields.byteLength; i++) if (whole[i] !== fields[i]) return false;
  for (let i = 0; i < tag.byteLength; i++)
    if (whole[fields.byteLength + i] !== tag[i]) return false;
  return true;
}
