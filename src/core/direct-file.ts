import { constants } from "node:fs";
import { type FileHandle, mkdir, open, rename, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { Code, FedbridgeError } from "./fedbridge-error.ts";
import { inPiecesOf } from "./gather-bytes.ts";
import { newBuffer } from "./uncounted-bytes.ts";

/** Direct I/O moves whole blocks: 4 KiB covers every logical block size Linux allows here. */
export const BLOCK = 4096;
/** What one direct write moves, and the most one direct read returns. */
export const DIRECT_PIECE = 4 * 2 ** 20;
/** A staging buffer: a piece, and a block on each side for a read that is not aligned. */
const STAGING_BYTES = DIRECT_PIECE + 64 * 1024;
/** Staging buffers kept for the next file: used again, their pages are never new. */
const pool: Buffer[] = [];
const POOLED = 16;

/** WebAssembly's memory (the project's type libraries do not declare the global). */
type WasmMemory = new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };

/**
 * A page-aligned buffer of `bytes` (a multiple of 64 KiB), as direct I/O needs: a WebAssembly
 * memory is page-aligned, a Buffer is not. Undefined where there is no WebAssembly.
 */
function alignedBuffer(bytes: number): Buffer | undefined {
  const { Memory } = (globalThis as { WebAssembly?: { Memory: WasmMemory } }).WebAssembly ?? {};
  return Memory && Buffer.from(new Memory({ initial: bytes / 65536 }).buffer);
}

function staging(): Buffer | undefined {
  return pool.pop() ?? alignedBuffer(STAGING_BYTES);
}

function release(buffer: Buffer): void {
  if (pool.length < POOLED) pool.push(buffer);
}

/** Opens `path` for direct I/O, or resolves undefined where the platform or filesystem has none. */
async function openDirect(path: string, flags: number): Promise<FileHandle | undefined> {
  if (constants.O_DIRECT === undefined) return undefined;
  try {
    return await open(path, flags | constants.O_DIRECT, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EINVAL") return undefined;
    throw error;
  }
}

/** Bytes to write: pieces, or a stream of them. */
type Pieces = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes `pieces` to `path` whole: to a temporary file renamed into place, so a reader never
 * sees half of one, past the page cache ({@link writeFileDirect}). `durable` adds an fsync
 * before the rename: a checkpoint must survive a crash of the machine, a task in transit need
 * not (it dies with its job's processes anyway). Resolves with `path`.
 */
export async function writeWhole(
  path: string,
  pieces: Pieces,
  options: { durable?: boolean } = {},
): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.partial`;
  await writeFileDirect(temporary, pieces, options);
  await rename(temporary, path);
  return path;
}

/**
 * Writes `pieces` to `path` (created or emptied), past the page cache: the bytes are gathered
 * in a reused aligned buffer and written from there with direct I/O, then the file is cut to
 * its length. For model-sized files written once and read once or a few times (a site's
 * result at the server, a task, a checkpoint): through the page cache each costs a copy into
 * a model's worth of fresh cache pages, and a virtual machine whose host takes back free
 * memory faults on every one ("runtime-memory" in docs/BENCHMARKS.md: buffered writes ran at
 * 460 MB/s there, direct ones at 3.2 GB/s). Where direct I/O is not to be had, it writes the
 * usual way. `durable`: fsync before it resolves. Resolves with the number of bytes.
 */
export async function writeFileDirect(
  path: string,
  pieces: Pieces,
  options: { durable?: boolean } = {},
): Promise<number> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
  const buffer = staging();
  const handle = buffer && (await openDirect(path, flags));
  if (buffer === undefined || handle === undefined) {
    if (buffer) release(buffer);
    return writeBuffered(path, pieces, options);
  }
  let size = 0;
  try {
    for await (const piece of inPiecesOf(pieces, DIRECT_PIECE, buffer)) {
      // The last piece may end inside a block: it is written whole, then the file cut.
      const blocks = Math.ceil(piece.byteLength / BLOCK) * BLOCK;
      buffer.fill(0, piece.byteLength, blocks);
      await writeAll(handle, buffer, blocks, size);
      size += piece.byteLength;
    }
    if (size % BLOCK !== 0) await handle.truncate(size);
    if (options.durable) await handle.sync();
    return size;
  } finally {
    await handle.close();
    release(buffer);
  }
}

async function writeBuffered(
  path: string,
  pieces: Pieces,
  options: { durable?: boolean },
): Promise<number> {
  const handle = await open(path, "w");
  let size = 0;
  try {
    for await (const piece of pieces) {
      await handle.write(piece);
      size += piece.byteLength;
    }
    if (options.durable) await handle.sync();
    return size;
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, buffer: Buffer, length: number, position: number) {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await handle.write(buffer, done, length - done, position + done);
    done += bytesWritten;
  }
}

/** A whole file read past the page cache (see {@link writeFileDirect}), into a buffer of its own. */
export async function readFileDirect(path: string): Promise<Uint8Array> {
  const reader = await DirectReader.open(path);
  try {
    const { size } = await stat(path);
    const whole = newBuffer(size);
    for (let at = 0; at < size; at += DIRECT_PIECE)
      whole.set(await reader.read(at, Math.min(DIRECT_PIECE, size - at)), at);
    return whole;
  } finally {
    await reader.close();
  }
}

/**
 * A file read a range at a time, past the page cache where direct I/O is to be had (what
 * {@link writeFileDirect} wrote is not in it): each range is read, whole blocks around it,
 * into one reused aligned buffer, and handed out as a view of it.
 */
export class DirectReader {
  readonly #handle: FileHandle;
  readonly #buffer: Buffer;
  readonly #direct: boolean;

  private constructor(handle: FileHandle, buffer: Buffer, direct: boolean) {
    this.#handle = handle;
    this.#buffer = buffer;
    this.#direct = direct;
  }

  static async open(path: string): Promise<DirectReader> {
    const buffer = staging();
    const direct = buffer && (await openDirect(path, constants.O_RDONLY));
    if (buffer && direct) return new DirectReader(direct, buffer, true);
    if (buffer) release(buffer);
    return new DirectReader(await open(path, "r"), Buffer.allocUnsafeSlow(DIRECT_PIECE), false);
  }

  /**
   * `length` bytes (at most DIRECT_PIECE) at `position`: a view valid until the next read.
   * Throws if the file ends before them.
   */
  async read(position: number, length: number): Promise<Uint8Array> {
    if (length > DIRECT_PIECE)
      throw new FedbridgeError(Code.Internal, `a direct read of ${length} bytes is too large`);
    const start = this.#direct ? position - (position % BLOCK) : position;
    const end = this.#direct ? Math.ceil((position + length) / BLOCK) * BLOCK : position + length;
    let got = 0;
    while (got < end - start) {
      const { bytesRead } = await this.#handle.read(
        this.#buffer,
        got,
        end - start - got,
        start + got,
      );
      got += bytesRead;
      // The end of the file: a direct read goes on only from a whole block.
      if (bytesRead === 0 || (this.#direct && bytesRead % BLOCK !== 0)) break;
    }
    if (got < position - start + length)
      throw new FedbridgeError(Code.DataLoss, "the file ends early");
    return this.#buffer.subarray(position - start, position - start + length);
  }

  async close(): Promise<void> {
    await this.#handle.close();
    if (this.#direct) release(this.#buffer);
  }
}
