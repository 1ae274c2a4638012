import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cachedPages } from "../../../test/page-cache.ts";
import { dropsSettled } from "../../core/page-cache.ts";
import { streamFile } from "./stream-file.ts";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const bytes = Uint8Array.from({ length: 3 * 2 ** 20 + 17 }, (_, i) => i % 253);

async function fileOf(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "fedbridge-stream-file-"));
  folders.push(folder);
  const path = join(folder, "task.result");
  await writeFile(path, bytes);
  return path;
}

async function streamed(file: string, keep: boolean): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const piece of streamFile(file, { keep })) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe("streamFile", () => {
  it("streams a file in 1 MiB pieces, then removes it", async () => {
    const file = await fileOf();
    expect(Buffer.compare(await streamed(file, false), bytes)).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it("keeps a file to be kept, whole and out of the page cache", async () => {
    const file = await fileOf();
    expect(Buffer.compare(await streamed(file, true), bytes)).toBe(0);
    await dropsSettled();
    expect(cachedPages(file)).toBeLessThanOrEqual(1);
    expect(Buffer.compare(await readFile(file), bytes)).toBe(0);
  });
});
