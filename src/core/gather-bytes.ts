import { copyBytes } from "./copy-bytes.ts";
import { Code, FedbridgeError } from "./fedbridge-error.ts";
import { newBuffer } from "./uncounted-bytes.ts";

/**
 * The pieces of a stream in one buffer. With `size` known up front the bytes are copied once
 * into a buffer of exactly that size (one allocation, aligned at 0, so float arrays in it stay
 * views), and a stream of another length is refused; without it the pieces are joined at the
 * end (one piece comes back as it is).
 */
export async function gatherBytes(
  chunks: AsyncIterable<Uint8Array>,
  size?: number,
): Promise<Uint8Array> {
  if (size === undefined) {
    const pieces: Uint8Array[] = [];
    for await (const piece of chunks) pieces.push(piece);
    return pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces);
  }
  const whole = newBuffer(size);
  let length = 0;
  for await (const piece of chunks) {
    if (length + piece.byteLength > size)
      throw new FedbridgeError(Code.DataLoss, `payload longer than its size ${size}`);
    copyBytes(whole, piece, length);
    length += piece.byteLength;
  }
  if (length !== size)
    throw new FedbridgeError(Code.DataLoss, `payload of ${length} bytes, size said ${size}`);
  return whole;
}

/**
 * The bytes of a stream in pieces of `size` (the last one shorter), copied out of whatever
 * pieces they came in: a socket's 64 KiB reads become a cell's 1 MiB chunks. Each piece is a
 * buffer of its own, or, given `reuse` (of `size` bytes), a view of it valid until the next.
 */
export async function* inPiecesOf(
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  size: number,
  reuse?: Uint8Array,
): AsyncGenerator<Uint8Array> {
  const fresh = () => reuse?.subarray(0, size) ?? newBuffer(size);
  let piece = fresh();
  let filled = 0;
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; ) {
      const taken = Math.min(size - filled, chunk.byteLength - at);
      copyBytes(piece, chunk.subarray(at, at + taken), filled);
      filled += taken;
      at += taken;
      if (filled < size) continue;
      yield piece;
      piece = fresh();
      filled = 0;
    }
  }
  if (filled > 0) yield piece.subarray(0, filled);
}
