import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cachedPages } from "../../../test/page-cache.ts";
import { writeWhole } from "../../core/direct-file.ts";
import { streamKeptFile } from "./stream-kept-file.ts";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const bytes = Uint8Array.from({ length: 3 * 2 ** 20 + 17 }, (_, i) => i % 253);

async function fileOf(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "fedbridge-stream-file-"));
  folders.push(folder);
  const path = join(folder, "task.result");
  await writeWhole(path, [bytes]);
  return path;
}

describe("streamKeptFile", () => {
  it("streams a kept file in 1 MiB pieces, its size said, and keeps it whole and out of the page cache", async () => {
    const file = await fileOf();
    const stream = await streamKeptFile(file);
    expect(stream.size).toBe(bytes.byteLength);
    const pieces: Uint8Array[] = [];
    for await (const piece of stream) pieces.push(piece);
    expect(pieces.map((piece) => piece.byteLength).slice(0, 3)).toEqual([
      2 ** 20,
      2 ** 20,
      2 ** 20,
    ]);
    expect(Buffer.compare(Buffer.concat(pieces), bytes)).toBe(0);
    expect(cachedPages(file)).toBeLessThanOrEqual(1);
    expect(Buffer.compare(await readFile(file), bytes)).toBe(0);
  });
});
