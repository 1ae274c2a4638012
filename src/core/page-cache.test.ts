import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cachedPages } from "../../test/page-cache.ts";
import { dropFromPageCache } from "./page-cache.ts";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

async function fileOf(bytes: Uint8Array): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "fedbridge-page-cache-"));
  folders.push(folder);
  const path = join(folder, "kept.result");
  await writeFile(path, bytes);
  return path;
}

// 9 MiB and a bit: more than one direct write, and a partial last block.
const bytes = Uint8Array.from({ length: 9 * 2 ** 20 + 1234 }, (_, i) => (i * 7919) % 251);

describe("dropFromPageCache", () => {
  it("leaves a file's bytes as they were, and only its partial last block in the cache", async () => {
    const path = await fileOf(bytes);
    expect(cachedPages(path)).toBeGreaterThan(2000);
    expect(await dropFromPageCache(path)).toBe(true);
    expect(cachedPages(path)).toBeLessThanOrEqual(1);
    expect(Buffer.compare(await readFile(path), bytes)).toBe(0);
  });

  it("takes calls one at a time, each file whole", async () => {
    const paths = await Promise.all([1, 2, 3].map((n) => fileOf(bytes.subarray(n * 4096))));
    expect(await Promise.all(paths.map(dropFromPageCache))).toEqual([true, true, true]);
    for (const [i, path] of paths.entries())
      expect(Buffer.compare(await readFile(path), bytes.subarray((i + 1) * 4096))).toBe(0);
  });

  it("resolves false for a file that is gone, and goes on with the next", async () => {
    const path = await fileOf(bytes);
    expect(await dropFromPageCache(join(path, "..", "gone"))).toBe(false);
    expect(await dropFromPageCache(path)).toBe(true);
  });
});
