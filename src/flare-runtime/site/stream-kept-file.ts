import { stat } from "node:fs/promises";
import { DirectReader } from "../../core/direct-file.ts";
import { sizedStream } from "../cell/chunk-sender.ts";

/** What a cell sends in one chunk. */
const PIECE = 2 ** 20;

/**
 * A kept result's bytes (a file written past the page cache, core/direct-file.ts) in 1 MiB
 * pieces, read past it too, its size said up front. The file stays: keeping results for a
 * server that asks again costs disk, not memory.
 */
export async function streamKeptFile(file: string) {
  const { size } = await stat(file);
  return sizedStream(
    size,
    (async function* () {
      const reader = await DirectReader.open(file);
      try {
        for (let at = 0; at < size; at += PIECE)
          yield Buffer.from(await reader.read(at, Math.min(PIECE, size - at)));
      } finally {
        await reader.close();
      }
    })(),
  );
}
