import { type FileHandle, open } from "node:fs/promises";
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
 * result is folded into a sum without ever being in memory whole.
 */
export class ShareableFile {
  private constructor(
    readonly header: Shareable,
    readonly arrays: readonly FileArray[],
    readonly dtypes: readonly string[],
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string, what = "shareable"): Promise<ShareableFile> {
    const handle = await open(path, "r");
    try {
      const at = async (position: number, length: number) => {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        if (bytesRead !== length)
          throw new FedbridgeError(Code.InvalidArgument, `malformed ${what}: it ends early`);
        return buffer;
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
      return new ShareableFile(header, arrays, dtypes, handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * The values of a float32 array, `chunk` values at a time; each view is valid until the
   * next one (one buffer is reused).
   */
  async *float32Chunks(array: FileArray, chunk = 4 * 2 ** 20): AsyncIterable<Float32Array> {
    const buffer = Buffer.alloc(Math.min(chunk, array.length) * 4);
    for (let done = 0; done < array.length; ) {
      const n = Math.min(chunk, array.length - done);
      const { bytesRead } = await this.handle.read(buffer, 0, n * 4, array.offset + done * 4);
      if (bytesRead !== n * 4)
        throw new FedbridgeError(Code.InvalidArgument, "a shareable file ends early");
      yield new Float32Array(buffer.buffer, buffer.byteOffset, n);
      done += n;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function padded(n: number): number {
  return Math.ceil(n / 8) * 8;
}
