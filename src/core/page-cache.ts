import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { alignedBuffer, BLOCK, DIRECT_PIECE as PIECE } from "./direct-file.ts";

let buffer: Buffer | undefined;
let queue: Promise<unknown> = Promise.resolve();

/**
 * Pushes a file kept only for recovery (a journaled reply, a site's kept result) out of the page
 * cache, so that it costs disk, not memory. Left there, such files grow the cache by a model a
 * round: memory the kernel takes back only under pressure, and which, on a virtual machine whose
 * host reclaims free memory (these benchmarks' machines), costs a host fault per page to fill.
 *
 * Node has no posix_fadvise, so the file's whole blocks are written again, over themselves,
 * with O_DIRECT: Linux writes a direct range to disk and then drops its cached pages. The bytes
 * do not change, so a reader sees the whole file at any moment. The last partial block stays
 * cached. Resolves to whether the pages went; a filesystem without direct I/O, another platform
 * or a file removed meanwhile leaves the file as it was. Calls run one at a time.
 */
export function dropFromPageCache(path: string): Promise<boolean> {
  const dropped = queue.then(() => rewriteDirect(path)).catch(() => false);
  queue = dropped;
  return dropped;
}

/** Resolves once every drop asked for so far is done. */
export function dropsSettled(): Promise<void> {
  return queue.then(() => undefined);
}

async function rewriteDirect(path: string): Promise<boolean> {
  buffer ??= alignedBuffer(PIECE);
  if (buffer === undefined || constants.O_DIRECT === undefined) return false;
  const reader = await open(path, "r");
  try {
    const writer = await open(path, constants.O_WRONLY | constants.O_DIRECT);
    try {
      const end = (await reader.stat()).size;
      const whole = end - (end % BLOCK);
      for (let at = 0; at < whole; at += PIECE) {
        const length = Math.min(PIECE, whole - at);
        for (let got = 0; got < length; ) {
          const { bytesRead } = await reader.read(buffer, got, length - got, at + got);
          if (bytesRead === 0) return false; // truncated meanwhile
          got += bytesRead;
        }
        await writer.write(buffer, 0, length, at);
      }
      return true;
    } finally {
      await writer.close();
    }
  } finally {
    await reader.close();
  }
}
