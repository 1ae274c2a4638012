import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BLOCK, DIRECT_PIECE, DirectReader, writeFileDirect, writeWhole } from "./direct-file.ts";

async function* inPieces(bytes: Uint8Array, size: number) {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

describe("files written and read past the page cache", () => {
  // Whole pieces, a partial block at the end, and pieces that straddle the staging buffer.
  const bytes = randomBytes(2 * DIRECT_PIECE + 3 * BLOCK + 123);

  it("writes a stream's bytes exactly, whatever its pieces, and says how many", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-direct-"));
    for (const [i, size] of [1_000_003, 64 * 1024, bytes.byteLength].entries()) {
      const path = join(dir, `f${i}`);
      expect(await writeFileDirect(path, inPieces(bytes, size))).toBe(bytes.byteLength);
      expect((await readFile(path)).equals(bytes)).toBe(true);
    }
    expect(await writeFileDirect(join(dir, "empty"), [])).toBe(0);
    expect((await stat(join(dir, "empty"))).size).toBe(0);
  });

  it("writes a file whole under its name, a temporary file meanwhile", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-direct-"));
    const path = join(dir, "sub", "model.bin");
    expect(
      await writeWhole(path, [bytes.subarray(0, 10), bytes.subarray(10)], { durable: true }),
    ).toBe(path);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it("reads any range, aligned or not, and says when the file ends before it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-direct-"));
    const path = join(dir, "f");
    await writeFileDirect(path, [bytes]);
    const reader = await DirectReader.open(path);
    try {
      for (const [at, length] of [
        [0, 8],
        [BLOCK - 3, 10],
        [5, DIRECT_PIECE],
        [bytes.byteLength - 200, 200],
      ] as const)
        expect(
          Buffer.from(await reader.read(at, length)).equals(bytes.subarray(at, at + length)),
        ).toBe(true);
      await expect(reader.read(bytes.byteLength - 10, 11)).rejects.toThrow("the file ends early");
      await truncate(path, 100);
      await expect(reader.read(0, 101)).rejects.toThrow("the file ends early");
    } finally {
      await reader.close();
    }
  });
});
