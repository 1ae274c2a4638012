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
import { GRPC_PREFIX_BYTES, GrpcMessageReader, grpcPrefix } from "../../core/wire/grpc-messages.ts";
import { type CellFrame, CellFrameSchema, ChunkSchema } from "../../gen/fedbridge/v1/cell_pb.ts";

/** The path of CellService.Connect, and the content type of its messages. */
export const CELL_PATH = "/fedbridge.v1.CellService/Connect";
export const GRPC_CONTENT_TYPE = "application/grpc+proto";

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
    return [grpcPrefix(message.byteLength), message];
  }
  const data = chunk.data;
  const fields = toBinary(ChunkSchema, { ...chunk, data: NO_DATA });
  const dataTag = new BinaryWriter()
    .tag(ChunkSchema.field.data.number, WireType.LengthDelimited)
    .uint32(data.byteLength)
    .finish();
  const head = new BinaryWriter()
    .raw(new Uint8Array(GRPC_PREFIX_BYTES))
    .tag(CellFrameSchema.field.chunk.number, WireType.LengthDelimited)
    .uint32(fields.byteLength + dataTag.byteLength + data.byteLength)
    .raw(fields)
    .raw(dataTag)
    .finish();
  return [grpcPrefix(head.byteLength - GRPC_PREFIX_BYTES + data.byteLength, head), data];
}

/**
 * Turns the bytes of a stream, as they arrive, into frames. A frame that arrived in one piece
 * is decoded where it lies (its chunk data a view of that piece); one split across pieces is
 * gathered into a buffer of its own size first.
 */
export class FrameReader {
  readonly #messages: GrpcMessageReader;

  constructor(maxBytes: number) {
    this.#messages = new GrpcMessageReader(maxBytes, "frame");
  }

  /** The frames that `piece` completes, in order. */
  *push(piece: Uint8Array): Generator<CellFrame> {
    for (const message of this.#messages.push(piece)) yield decode(message);
  }

  /** Whether the stream may end here: not inside a frame. */
  get atBoundary(): boolean {
    return this.#messages.atBoundary;
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
