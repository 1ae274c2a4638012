import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAppManifest } from "./load-app.ts";

/** An app folder holding `files` (name → content). */
async function appFolder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fedbridge-load-app-"));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

const PACKAGE = JSON.stringify({
  fedbridge: { serverapp: "./server.ts", clientapp: "./client.ts" },
});

describe("readAppManifest", () => {
  it("names the missing module, and says why when Flower's CLI built the folder", async () => {
    const plain = await appFolder({ "package.json": PACKAGE, "client.ts": "" });
    await expect(readAppManifest(plain)).rejects.toThrow(
      /"fedbridge.serverapp" names .\/server.ts, which does not exist$/,
    );
    // A FAB from `flwr run`: package.json and pyproject.toml travel, the .ts files do not.
    const fab = await appFolder({ "package.json": PACKAGE, "pyproject.toml": "" });
    await expect(readAppManifest(fab)).rejects.toThrow(
      /which does not exist \(a FAB built by Flower's "flwr run" carries no .ts files/,
    );
  });
});
