import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { ShareableSchema } from "../../gen/fedbridge/v1/task_pb.ts";
import { type Array as ProtoArray, RecordDictSchema } from "../../gen/flwr/proto/recorddict_pb.ts";
import { protoArrays } from "./records.ts";
import type { Shareable } from "./shareable.ts";

/**
 * A Shareable on the wire and on disk: a small header (the Shareable proto with every array's
 * bytes left out), a table of the arrays' byte lengths, then the arrays' bytes, each starting
 * on an 8-byte boundary. Encoding returns pieces that point at the arrays' own bytes, so a
 * 400 MB model is written to a cell or a file without being copied into one buffer; decoding
 * gives arrays that are views into the buffer read.
 *
 *     "FBS1" | u32 header length | header | u32 count | f64 length × count | pad | data, pad, ...
 */
const MAGIC = [0x46, 0x42, 0x53, 0x31]; // FBS1
const ALIGN = 8;

export function encodeShareable(shareable: Shareable): Uint8Array[] {
  const arrays = protoArrays(shareable.records);
  const blobs = arrays.map((array) => array.data);
  // The header carries no array bytes: they follow it.
  for (const array of arrays) array.data = new Uint8Array();
  let header: Uint8Array;
  try {
    header = toBinary(
      ShareableSchema,
      create(ShareableSchema, {
        kind: shareable.kind,
        records: shareable.records,
        metaJson: JSON.stringify(shareable.meta),
      }),
    );
  } finally {
    arrays.forEach((array, i) => {
      array.data = blobs[i] as Uint8Array;
    });
  }
  const tableBytes = 4 + 8 * blobs.length;
  const prefixLength = padded(8 + header.byteLength + tableBytes);
  const prefix = new Uint8Array(prefixLength);
  const view = new DataView(prefix.buffer);
  prefix.set(MAGIC, 0);
  view.setUint32(4, header.byteLength, true);
  prefix.set(header, 8);
  let at = 8 + header.byteLength;
  view.setUint32(at, blobs.length, true);
  at += 4;
  for (const blob of blobs) {
    view.setFloat64(at, blob.byteLength, true);
    at += 8;
  }
  const pieces: Uint8Array[] = [prefix];
  for (const blob of blobs) {
    pieces.push(blob);
    const pad = padded(blob.byteLength) - blob.byteLength;
    if (pad > 0) pieces.push(new Uint8Array(pad));
  }
  return pieces;
}

/** Total bytes of encoded pieces. */
export function encodedLength(pieces: readonly Uint8Array[]): number {
  return pieces.reduce((total, piece) => total + piece.byteLength, 0);
}

/** One buffer of the pieces, for transports that take one (IPC). */
export function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0] as Uint8Array;
  const out = new Uint8Array(encodedLength(pieces));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  return out;
}

/** Decodes what {@link encodeShareable} wrote; the arrays' bytes are views into `bytes`. */
export function decodeShareable(bytes: Uint8Array, what = "shareable"): Shareable {
  const fail = (fault: string) =>
    new FedbridgeError(Code.InvalidArgument, `malformed ${what}: ${fault}`);
  if (bytes.byteLength < 8 || MAGIC.some((b, i) => bytes[i] !== b))
    throw fail("it does not start with FBS1");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  let at = 8 + headerLength;
  if (at + 4 > bytes.byteLength) throw fail("the header runs past the end");
  let header: ReturnType<typeof fromBinary<typeof ShareableSchema>>;
  try {
    header = fromBinary(ShareableSchema, bytes.subarray(8, at));
  } catch (cause) {
    throw new FedbridgeError(Code.InvalidArgument, `malformed ${what}: bad header`, { cause });
  }
  const count = view.getUint32(at, true);
  at += 4;
  const records = header.records ?? create(RecordDictSchema);
  const arrays = protoArrays(records);
  if (count !== arrays.length || at + 8 * count > bytes.byteLength)
    throw fail(`the table lists ${count} arrays, the header ${arrays.length}`);
  const lengths: number[] = [];
  for (let i = 0; i < count; i++, at += 8) lengths.push(view.getFloat64(at, true));
  at = padded(at);
  arrays.forEach((array: ProtoArray, i) => {
    const length = lengths[i] as number;
    if (!Number.isInteger(length) || length < 0 || at + length > bytes.byteLength)
      throw fail(`array ${i} runs past the end`);
    array.data = bytes.subarray(at, at + length);
    at = padded(at + length);
  });
  let meta: Shareable["meta"];
  try {
    meta = header.metaJson ? JSON.parse(header.metaJson) : {};
  } catch {
    throw fail("its meta is not JSON");
  }
  if (meta === null || typeof meta !== "object" || Array.isArray(meta))
    throw fail("its meta is not a JSON object");
  return { kind: header.kind, records, meta };
}

function padded(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
