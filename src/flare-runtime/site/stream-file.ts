import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import { dropFromPageCache } from "../../core/page-cache.ts";

/**
 * A file's bytes in 1 MiB pieces, then the file is removed, or, if it is to be kept (for a task
 * sent again), pushed out of the page cache.
 */
export async function* streamFile(
  file: string,
  options = { keep: false },
): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 2 ** 20 }))
      yield chunk as Buffer;
  } finally {
    if (!options.keep) await rm(file, { force: true });
    else void dropFromPageCache(file);
  }
}
