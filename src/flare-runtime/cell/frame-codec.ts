/**
 * Cell frames on the wire: gRPC's length-prefixed messages (a flags byte, a big-endian u32
 * length, a CellFrame), so any gRPC client still speaks CellService.Connect. Written by hand
 * rather than through a gRPC library because the cells carry models: a chunk's bytes go out as
 * they are, behind a few bytes of header, where protobuf encoding and gRPC framing would copy
 * every megabyte three times (and the garbage collector then runs for each of those copies).
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { type CellFrame, CellFrameSchema, ChunkSchema } from "../../gen/fedbridge/v1/cell_pb.ts";

/** The path of CellService.Connect, and the content type of its messages. */
export const CELL_PATH = "/fedbridge.v1.CellService/Connect";
export const GRPC_CONTENT_TYPE = "application/grpc+proto";

const PREFIX_BYTES = 5;
/** Chunks with fewer bytes than this are encoded whole: not worth a second write. */
const SEPARATE_DATA_BYTES = 4096;
const NO_DATA = new Uint8Array(0);

/**
 * A frame as the pieces to write, in order. A large chunk's data is its own piece, never
 * copied: protobuf lets its field come after the others, so the header ends with its tag.
 */
export function encodeFrame(frame: CellFrame): Uint8Array[] {
  const chunk = frame.kind.case === "chunk" ? frame.kind.value : undefined;
  if (chunk === undefined || chunk.data.byteLength < SEPARATE_DATA_BYTES) {
    const message = toBinary(CellFrameSchema, frame);
    return [prefix(message.byteLength, new Uint8Array(PREFIX_BYTES)), message];
  }
  const data = chunk.data;
  const fields = toBinary(ChunkSchema, { ...chunk, data: NO_DATA });
  const dataTag = new BinaryWriter()
    .tag(ChunkSchema.field.data.number, WireType.LengthDelimited)
    .uint32(data.byteLength)
    .finish();
  const head = new BinaryWriter()
    .raw(new Uint8Array(PREFIX_BYTES))
    .tag(CellFrameSchema.field.chunk.number, WireType.LengthDelimited)
    .uint32(fields.byteLength + dataTag.byteLength + data.byteLength)
    .raw(fields)
    .raw(dataTag)
    .finish();
  return [prefix(head.byteLength - PREFIX_BYTES + data.byteLength, head), data];
}

/**
 * Turns the bytes of a stream, as they arrive, into frames. A frame that arrived in one piece
 * is decoded where it lies (its chunk data a view of that piece); one split across pieces is
 * gathered into a buffer of its own size first.
 */
export class FrameReader {
  readonly #maxBytes: number;
  readonly #prefix = new Uint8Array(PREFIX_BYTES);
  #prefixFilled = 0;
  #frame: Uint8Array | undefined;
  #frameFilled = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The frames that `piece` completes, in order. */
  *push(piece: Uint8Array): Generator<CellFrame> {
    let at = 0;
    while (at < piece.byteLength) {
      if (this.#frame === undefined && this.#prefixFilled === 0) {
        const left = piece.byteLength - at;
        if (left >= PREFIX_BYTES) {
          const length = this.#checkPrefix(piece.subarray(at, at + PREFIX_BYTES));
          if (left >= PREFIX_BYTES + length) {
            yield decode(piece.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + length));
            at += PREFIX_BYTES + length;
            continue;
          }
        }
      }
      if (this.#frame === undefined) {
        const n = Math.min(PREFIX_BYTES - this.#prefixFilled, piece.byteLength - at);
        this.#prefix.set(piece.subarray(at, at + n), this.#prefixFilled);
        this.#prefixFilled += n;
        at += n;
        if (this.#prefixFilled < PREFIX_BYTES) return;
        this.#prefixFilled = 0;
        this.#frame = new Uint8Array(this.#checkPrefix(this.#prefix));
        this.#frameFilled = 0;
      }
      const frame = this.#frame;
      const n = Math.min(frame.byteLength - this.#frameFilled, piece.byteLength - at);
      frame.set(piece.subarray(at, at + n), this.#frameFilled);
      this.#frameFilled += n;
      at += n;
      if (this.#frameFilled === frame.byteLength) {
        this.#frame = undefined;
        yield decode(frame);
      }
    }
  }

  /** Whether the stream may end here: not inside a frame. */
  get atBoundary(): boolean {
    return this.#frame === undefined && this.#prefixFilled === 0;
  }

  #checkPrefix(bytes: Uint8Array): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, PREFIX_BYTES);
    if (view.getUint8(0) !== 0)
      throw new FedbridgeError(Code.InvalidArgument, "compressed frames are not accepted");
    const length = view.getUint32(1);
    if (length > this.#maxBytes)
      throw new FedbridgeError(
        Code.ResourceExhausted,
        `a frame of ${length} bytes is over the limit of ${this.#maxBytes}`,
      );
    return length;
  }
}

function decode(bytes: Uint8Array): CellFrame {
  try {
    // An unknown field is dropped, not kept: kept, each is a view of its bytes (many times
    // their size in heap for small ones).
    return fromBinary(CellFrameSchema, bytes, { readUnknownFields: false });
  } catch (reason) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `parse binary: ${reason instanceof Error ? reason.message : String(reason)}`,
    );
  }
}

function prefix(length: number, into: Uint8Array): Uint8Array {
  new DataView(into.buffer, into.byteOffset, PREFIX_BYTES).setUint32(1, length);
  return into;
}
