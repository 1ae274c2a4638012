/**
 * protobuf-es's `toBinary`, without its copies of a large bytes field. Its writer grows a
 * buffer by doubling and returns a slice of it, so a 5 MiB object costs an 8 MiB buffer and two
 * copies before gRPC frames it; here the other fields are encoded as usual and the large field,
 * when it is the message's last, is appended once into a buffer of the exact size. The bytes
 * are the same as `toBinary`'s: protobuf-es writes fields in declaration order, this field last.
 */
import { type DescMessage, type MessageShape, ScalarType, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** Bytes fields smaller than this go through `toBinary` whole. */
const LARGE_BYTES = 64 * 1024;
const NO_BYTES = new Uint8Array(0);

export function encodeMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Uint8Array {
  const last = schema.fields[schema.fields.length - 1];
  const large =
    last?.fieldKind === "scalar" && last.scalar === ScalarType.BYTES && last.oneof === undefined
      ? (message as Record<string, unknown>)[last.localName]
      : undefined;
  if (!(large instanceof Uint8Array) || large.byteLength < LARGE_BYTES || message.$unknown?.length)
    return toBinary(schema, message);
  const fields = toBinary(schema, { ...message, [last.localName]: NO_BYTES });
  const tag = new BinaryWriter()
    .tag(last.number, WireType.LengthDelimited)
    .uint32(large.byteLength)
    .finish();
  const out = new Uint8Array(fields.byteLength + tag.byteLength + large.byteLength);
  out.set(fields);
  out.set(tag, fields.byteLength);
  out.set(large, fields.byteLength + tag.byteLength);
  return out;
}
