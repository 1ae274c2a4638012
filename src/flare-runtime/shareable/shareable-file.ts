import { DIRECT_PIECE, DirectReader } from "../../core/direct-file.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { decodeNpyHeader } from "../../core/numeric/npy.ts";
import { type ArrayEntry, arrayEntries } from "./records.ts";
import type { Shareable } from "./shareable.ts";
import { decodeShareable } from "./shareable-codec.ts";

/** One float32 array of a Shareable file: where its values lie. */
export interface FileArray {
  entry: ArrayEntry;
  /** Number of values. */
  length: number;
  /** Offset of the first value in the file. */
  offset: number;
}

/**
 * A Shareable on disk (what `encodeShareable` wrote), read piece by piece: the header (kind,
 * meta, records with empty array bytes) at once, the arrays' values in chunks, so a 400 MB
 * result is folded into a sum without ever being in memory whole. Read past the page cache
 * (core/direct-file.ts): each result is read once.
 */
export class ShareableFile {
  private constructor(
    readonly header: Shareable,
    readonly arrays: readonly FileArray[],
    readonly dtypes: readonly string[],
    private readonly file: DirectReader,
    private readonly path: string,
  ) {}

  static async open(path: string, what = "shareable"): Promise<ShareableFile> {
    const file = await DirectReader.open(path);
    try {
      const at = async (position: number, length: number) => {
        if (length > DIRECT_PIECE)
          throw new FedbridgeError(
            Code.InvalidArgument,
            `malformed ${what}: its header is too large`,
          );
        return Buffer.from(await endsEarly(file.read(position, length), `malformed ${what}`));
      };
      const headerLength = (await at(0, 8)).readUInt32LE(4);
      const count = (await at(8 + headerLength, 4)).readUInt32LE(0);
      const prefixLength = padded(8 + headerLength + 4 + 8 * count);
      // The prefix with every array empty: decodeShareable reads it as is.
      const prefix = await at(0, prefixLength);
      const lengths: number[] = [];
      for (let i = 0; i < count; i++) {
        lengths.push(prefix.readDoubleLE(8 + headerLength + 4 + 8 * i));
        prefix.writeDoubleLE(0, 8 + headerLength + 4 + 8 * i);
      }
      const header = decodeShareable(prefix, what);
      const entries = arrayEntries(header.records);
      const arrays: FileArray[] = [];
      const dtypes: string[] = [];
      let offset = prefixLength;
      for (const [i, entry] of entries.entries()) {
        const length = lengths[i] as number;
        const npy = decodeNpyHeader(await at(offset, Math.min(length, 4096)));
        dtypes.push(npy.dtype);
        arrays.push({
          entry,
          length: npy.shape.reduce((a, b) => a * b, 1),
          offset: offset + npy.dataStart,
        });
        offset = padded(offset + length);
      }
      return new ShareableFile(header, arrays, dtypes, file, path);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /**
   * The values of a float32 array, a few MB at a time; each view is valid until the next one.
   * Two readers take turns, so the disk reads the next piece while the caller uses this one.
   */
  async *float32Chunks(array: FileArray): AsyncIterable<Float32Array> {
    const chunk = DIRECT_PIECE / 4;
    const readers = [this.file, await DirectReader.open(this.path)] as const;
    const read = (i: number) => {
      const done = i * chunk;
      const n = Math.min(chunk, array.length - done);
      const reader = i % 2 === 0 ? readers[0] : readers[1];
      const bytes = reader.read(array.offset + done * 4, n * 4);
      bytes.catch(() => {}); // awaited in turn (a piece not reached fails nobody)
      return { n, bytes };
    };
    try {
      const pieces = Math.ceil(array.length / chunk);
      let next = pieces > 0 ? read(0) : undefined;
      for (let i = 0; next !== undefined; i++) {
        const { n, bytes } = next;
        const view = await endsEarly(bytes, "a shareable file");
        next = i + 1 < pieces ? read(i + 1) : undefined;
        // Values that do not start 4-aligned in the file are copied to be viewed.
        const aligned = view.byteOffset % 4 === 0 ? view : view.slice();
        yield new Float32Array(aligned.buffer, aligned.byteOffset, n);
      }
    } finally {
      await readers[1].close();
    }
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** A read that finds the file too short fails as a malformed input named `what`. */
async function endsEarly(read: Promise<Uint8Array>, what: string): Promise<Uint8Array> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof FedbridgeError && error.code === Code.DataLoss)
      throw new FedbridgeError(Code.InvalidArgument, `${what}: it ends early`);
    throw error;
  }
}

function padded(n: number): number {
  return Math.ceil(n / 8) * 8;
}
