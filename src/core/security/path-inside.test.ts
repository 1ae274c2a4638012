import { mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pathInside, writeFileInside } from "./path-inside.ts";

const temp = () => mkdtemp(join(tmpdir(), "fedbridge-inside-"));

describe("pathInside", () => {
  it("joins paths that stay inside, refuses those that leave", () => {
    expect(pathInside("/ws/jobs", "1234")).toBe("/ws/jobs/1234");
    expect(() => pathInside("/ws/jobs", "../../../../tmp/x")).toThrow(/outside \/ws\/jobs/);
    expect(() => pathInside("/ws/jobs", "/etc")).toThrow(/outside/);
    expect(() => pathInside("/ws/jobs", "")).toThrow(/outside/);
  });
});

describe("writeFileInside", () => {
  it("writes a file in new folders", async () => {
    const root = await temp();
    await writeFileInside(join(root, "new"), "a/b/c.txt", new TextEncoder().encode("hi"));
    expect(await readFile(join(root, "new/a/b/c.txt"), "utf8")).toBe("hi");
  });

  it("makes the root folder itself when it is missing (admin download -o new/folder)", async () => {
    const root = join(await temp(), "download", "job");
    await writeFileInside(root, "result.json", new TextEncoder().encode("{}"));
    expect(await readFile(join(root, "result.json"), "utf8")).toBe("{}");
  });

  it("never writes through a symlink planted as the file or as a folder on the way", async () => {
    const [root, elsewhere] = await Promise.all([temp(), temp()]);
    await writeFile(join(elsewhere, "victim"), "untouched");
    await symlink(join(elsewhere, "victim"), join(root, "result.json"));
    await expect(writeFileInside(root, "result.json", new Uint8Array([1]))).rejects.toThrow(
      /is a symlink/,
    );
    await symlink(elsewhere, join(root, "tb_events"));
    await expect(writeFileInside(root, "tb_events/x", new Uint8Array([1]))).rejects.toThrow(
      /is a symlink/,
    );
    await mkdir(join(root, "logs"));
    await expect(writeFileInside(root, "../outside", new Uint8Array([1]))).rejects.toThrow(
      /outside/,
    );
    expect(await readFile(join(elsewhere, "victim"), "utf8")).toBe("untouched");
  });
});
