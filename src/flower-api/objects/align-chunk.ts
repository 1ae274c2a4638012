import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { GATHERED_SLACK_BYTES } from "../../core/wire/gathered-slack.ts";

const CHUNK_TYPE = new TextEncoder().encode("ArrayChunk ");
/** What an array's values must start at for any typed array to view them (float64, int64). */
const VALUE_ALIGN = 8;

/**
 * An ArrayChunk object moved, within its own buffer, so that its body starts 8-byte aligned;
 * any other object, or one without room to move, as it is. A chunk's body is a slice of an
 * array's NPY bytes, whose values start 64 bytes in, so an array of one chunk (most layers)
 * then decodes as a view instead of a model-sized copy. Room exists where the object ends a
 * message gathered by GrpcMessageReader (a pulled object is the last field of its response),
 * which leaves GATHERED_SLACK_BYTES spare after it; nothing else can be in those bytes.
 */
export function alignArrayChunk(object: Uint8Array): Uint8Array {
  const { buffer, byteOffset, byteLength } = object;
  if (byteOffset + byteLength + GATHERED_SLACK_BYTES !== buffer.byteLength) return object;
  // Not a chunk, or malformed (left for the parser to refuse).
  const bodyStart = chunkBodyStart(object, 0);
  if (bodyStart === undefined) return object;
  const shift = toAlign(byteOffset + bodyStart);
  if (shift === 0) return object;
  const moved = byteOffset + shift;
  new Uint8Array(buffer).copyWithin(moved, byteOffset, byteOffset + byteLength);
  return new Uint8Array(buffer, moved, byteLength);
}

/**
 * How far into the buffer gathered for it to place a message (0–7 bytes) whose last field is an
 * ArrayChunk object (a PullObject response), so that the chunk's body starts 8-aligned where it
 * lands and alignArrayChunk has nothing to move. `head`: the message's first bytes as they
 * arrived, of its `length`. 0 when they do not show such a chunk's header whole.
 */
export function chunkBodyLead(head: Uint8Array, length: number): number {
  try {
    const reader = new BinaryReader(head);
    while (reader.pos < head.byteLength) {
      const [, wireType] = reader.tag();
      if (wireType !== WireType.LengthDelimited) {
        reader.skip(wireType);
        continue;
      }
      const size = reader.uint32();
      if (reader.pos + size < length) {
        reader.pos += size;
        continue;
      }
      const bodyStart = chunkBodyStart(head, reader.pos);
      return bodyStart === undefined ? 0 : toAlign(bodyStart);
    }
  } catch {
    // Cut off mid-field: nothing known.
  }
  return 0;
}

/** Where the body of the ArrayChunk object at `start` of `bytes` starts; undefined if none is. */
function chunkBodyStart(bytes: Uint8Array, start: number): number | undefined {
  if (CHUNK_TYPE.some((byte, i) => bytes[start + i] !== byte)) return undefined;
  const end = bytes.indexOf(0, start);
  return end < 0 ? undefined : end + 1;
}

/** Bytes to move `offset` along to reach a multiple of VALUE_ALIGN. */
function toAlign(offset: number): number {
  return (VALUE_ALIGN - (offset % VALUE_ALIGN)) % VALUE_ALIGN;
}
