import { existsSync } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cachedPages } from "../../test/page-cache.ts";
import { readFileDirect, writeFileDirect } from "../core/direct-file.ts";
import { ReturnCode, type TaskResult } from "../flare-runtime/controller/task.ts";
import { createShareable, DataKind } from "../flare-runtime/shareable/shareable.ts";
import { decodeShareable, encodeShareable } from "../flare-runtime/shareable/shareable-codec.ts";
import { ReplyJournal } from "./reply-journal.ts";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const made = await mkdtemp(join(tmpdir(), "fedbridge-reply-journal-"));
  folders.push(made);
  return made;
}

/**
 * A site's OK result waiting in a file, as the controller hands it over: 8 MB of meta, written
 * and read past the page cache as the runtime does.
 */
async function resultInFile(site: string): Promise<TaskResult> {
  let file = join(await folder(), "arrived.result");
  const shareable = createShareable(DataKind.WEIGHTS, undefined, { blob: "x".repeat(8e6) });
  await writeFileDirect(file, encodeShareable(shareable));
  return {
    site,
    code: ReturnCode.OK,
    read: async () => decodeShareable(await readFileDirect(file)),
    keep: async (path) => {
      await rename(file, path);
      file = path;
    },
  };
}

describe("ReplyJournal", () => {
  it("keeps a result in the file it came in, out of the page cache, and loads it after a restart", async () => {
    const dir = await folder();
    const journal = new ReplyJournal(dir);
    const result = await resultInFile("site-1");
    const { file, shareable } = await journal.stash(result);
    expect(shareable.meta.blob).toHaveLength(8e6);
    journal.record("key-1", "site-1", { file });
    journal.record("key-2", "site-2", { code: 4, reason: "deadline exceeded" });
    journal.close();

    expect(existsSync(join(dir, file))).toBe(true);
    expect(cachedPages(join(dir, file))).toBeLessThanOrEqual(1);

    const reopened = new ReplyJournal(dir);
    expect([...reopened.entries()]).toEqual([
      ["key-1", { seq: 1, node: "site-1" }],
      ["key-2", { seq: 2, node: "site-2" }],
    ]);
    const loaded = await reopened.load("key-1");
    expect(loaded.kind === "result" && loaded.shareable.meta.blob).toBe("x".repeat(8e6));
    expect(await reopened.load("key-2")).toEqual({
      kind: "failure",
      code: 4,
      reason: "deadline exceeded",
    });
    await expect(reopened.load("key-3")).rejects.toThrow("holds no reply key-3");
    reopened.close();
  });
});
